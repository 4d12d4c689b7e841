package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The two nodes of a pair run the same file but for a few settings of
// their own. Fingerprint lists every setting of a configuration as
// path -> value, without those (so two nodes' fingerprints can be
// compared for drift: `lbctl pair drift`) and with secrets reduced to a
// hash (a different password shows, its value does not).

// nodeOwn are the settings that differ between the nodes of a pair by
// design, by block and attribute (Go field names).
var nodeOwn = map[string]bool{
	"VRRPInstances.State": true, "VRRPInstances.Priority": true,
	"VRRPInstances.UnicastSrc": true, "VRRPInstances.UnicastPeers": true,
	"PeerAPI.Bind": true, "PeerAPI.Peer": true,
	"Peers.Bind": true, "Peers.Peer": true, // peers blocks (stick.go)
	"BGP.RouterID": true, "BGP.Neighbors.LocalAddress": true,
	"Global.AdminSocket": true, // lbd --socket may override it per node
	"Filename":           true, "Warnings": true,
}

// secretFields are reduced to a hash of their value.
var secretFields = map[string]bool{"AuthPass": true, "Password": true, "Response": true}

// Fingerprint returns the configuration's settings as path -> value,
// without the node's own ones (state, priority, unicast settings, the
// peer API's addresses, the BGP router ID), secrets hashed.
func (c *Config) Fingerprint() (map[string]string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	out := map[string]string{}
	walk(out, "", "", v)
	return out, nil
}

// walk flattens v into out: path is what is printed (list elements named
// by their Name), kind the path without element names (for nodeOwn).
func walk(out map[string]string, path, kind string, v any) {
	if nodeOwn[kind] {
		return
	}
	field := kind[strings.LastIndexByte(kind, '.')+1:]
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(out, join(path, k), join(kind, k), x[k])
		}
	case []any:
		for i, e := range x {
			name := fmt.Sprint(i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["Name"].(string); ok && n != "" {
					name = n
				}
			}
			walk(out, fmt.Sprintf("%s[%s]", path, name), kind, e)
		}
		if len(x) == 0 {
			out[path] = "[]"
		}
	default:
		s, _ := json.Marshal(x)
		if secretFields[field] && x != nil && x != "" {
			h := sha256.Sum256(s)
			s = []byte("sha256:" + hex.EncodeToString(h[:6]))
		}
		out[path] = string(s)
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// Drift compares two fingerprints: each line says a setting and its value
// on each side ("-" when absent).
func Drift(local, peer map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for k, v := range local {
		seen[k] = true
		if pv, ok := peer[k]; !ok || pv != v {
			out = append(out, fmt.Sprintf("%s: %s here, %s on the peer", k, v, orDash(pv, ok)))
		}
	}
	for k, v := range peer {
		if !seen[k] {
			out = append(out, fmt.Sprintf("%s: - here, %s on the peer", k, v))
		}
	}
	sort.Strings(out)
	return out
}

func orDash(v string, ok bool) string {
	if !ok {
		return "-"
	}
	return v
}
