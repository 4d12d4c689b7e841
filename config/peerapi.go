package config

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// PeerAPI is the peer_api block: this node's admin API reachable by the
// other node of the pair over TCP, so that `lbctl pair ...` on either node
// shows and changes both at once. Every request and answer is signed with
// a secret both nodes share (HMAC-SHA256, with a timestamp and a nonce
// against replays); nothing is served to anyone without it. Off when the
// block is absent. Neither HAProxy (its stats socket over TCP has no
// authentication) nor keepalived has an equivalent.
type PeerAPI struct {
	// Bind is where this node serves the peer, as "ip:port", usually its
	// own address on the pair's segment. Required.
	Bind string
	// Peer is the other node's bind, as "ip:port". Required.
	Peer string
	// SecretFile holds the shared secret, at least 32 bytes: the same
	// file on both nodes (head -c 48 /dev/urandom | base64 > FILE).
	// Required.
	SecretFile string
	// Secret is SecretFile's content, read at load so that a reload with
	// a missing or short file is refused.
	Secret []byte `json:"-"`

	rng blockRanges
}

// MinPeerSecret is the shortest secret peer_api accepts.
const MinPeerSecret = 32

var peerAPISchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "bind", Required: true}, {Name: "peer", Required: true}, {Name: "secret_file", Required: true},
	},
}

func (d *decoder) decodePeerAPI(blk *hcl.Block, dir string) *PeerAPI {
	p := &PeerAPI{}
	b := d.body(d.content(blk, peerAPISchema), blk.DefRange, &p.rng)
	d.decodePeerLink(b, &p.rng, dir, &p.Bind, &p.Peer, &p.SecretFile, &p.Secret)
	return p
}

// decodePeerLink reads what peer_api and peers blocks share: this node's
// bind, the other node's address and the shared secret's file.
func (d *decoder) decodePeerLink(b body, rng *blockRanges, dir string, bind, peer, secretFile *string, secret *[]byte) {
	for _, a := range []struct {
		name string
		dst  *string
	}{{"bind", bind}, {"peer", peer}} {
		b.str(a.name, a.dst)
		if !b.has(a.name) {
			continue
		}
		ap, err := ParseBind(*a.dst)
		switch {
		case err != nil:
			d.errorf(rng.at(a.name), "%s: %v", a.name, err)
		case a.name == "peer" && ap.Addr().IsUnspecified():
			d.errorf(rng.at(a.name), "peer: %s is not an address to connect to", *a.dst)
		default:
			*a.dst = ap.String()
		}
	}
	if *bind != "" && *bind == *peer {
		d.errorf(rng.at("peer"), "peer: %s is this node's own bind", *peer)
	}
	b.str("secret_file", secretFile)
	if b.has("secret_file") {
		*secretFile = absPath(dir, *secretFile)
		sec, err := os.ReadFile(*secretFile)
		switch {
		case err != nil:
			d.errorf(rng.at("secret_file"), "secret_file: %v", err)
		case len(sec) < MinPeerSecret:
			d.errorf(rng.at("secret_file"), "secret_file: %s holds %d bytes, the shared secret needs at least %d (e.g. head -c 48 /dev/urandom | base64 > %s)",
				*secretFile, len(sec), MinPeerSecret, filepath.Base(*secretFile))
		default:
			*secret = sec
		}
	}
}

// checkPeerAPI refuses a peer_api bind another listener has.
func (d *decoder) checkPeerAPI(cfg *Config) {
	p := cfg.PeerAPI
	if p == nil || p.Bind == "" {
		return
	}
	if cfg.Stats != nil && cfg.Stats.Bind == p.Bind {
		d.errorf(p.rng.at("bind"), "bind: %s is the stats page's", p.Bind)
	}
	for _, fe := range cfg.Frontends {
		for _, bind := range fe.Bind {
			if bind == p.Bind {
				d.errorf(p.rng.at("bind"), "bind: %s is frontend %q's", p.Bind, fe.Name)
			}
		}
	}
}

// String keeps the secret out of logs and errors.
func (p *PeerAPI) String() string {
	return fmt.Sprintf("peer_api{bind %s, peer %s, secret_file %s}", p.Bind, p.Peer, p.SecretFile)
}
