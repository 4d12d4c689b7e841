package appliance

import (
	"path/filepath"
	"testing"
	"time"

	"lbd/config"
	"lbd/test/pki"
)

func TestCertInfos(t *testing.T) {
	dir := t.TempDir()
	ca := pki.NewCA("CA")
	ca.Issue(pki.Options{}, "www.example.com", "example.com").Write(filepath.Join(dir, "site.pem"))
	ca.Issue(pki.Options{KeyType: pki.RSA}, "api.example.com").Write(filepath.Join(dir, "api.pem"))
	src := `
frontend "a" {
  default_backend = "app"
  tls {
    bind = ["127.0.0.1:18443"]
    crt  = ["site.pem", "api.pem"]
  }
}
frontend "b" {
  default_backend = "app"
  tls {
    bind = ["127.0.0.1:18444", "127.0.0.1:18445"]
    crt  = ["api.pem"]
  }
}
backend "app" {
  server "s" { address = "127.0.0.1:9001" }
}
`
	cfg, err := config.Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	infos := CertInfos(cfg, time.Now())
	if len(infos) != 2 {
		t.Fatalf("%d certificates: %+v", len(infos), infos)
	}
	site, api := infos[0], infos[1]
	if !site.Default || site.KeyType != "ECDSA" || len(site.SANs) != 2 || site.Binds[0] != "a/127.0.0.1:18443" || site.ExpiresIn < 364*86400 {
		t.Errorf("site: %+v", site)
	}
	if !api.Default || api.KeyType != "RSA" || len(api.Binds) != 3 || api.Issuer != "CN=CA,O=lbd test" {
		t.Errorf("api (default of frontend b, used by 3 binds): %+v", api)
	}
}
