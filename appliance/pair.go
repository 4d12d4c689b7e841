package appliance

import "lbd/config"

// PeerAPI is the running configuration's peer_api block, or nil (for the
// admin API's pair endpoints).
func (a *Appliance) PeerAPI() *config.PeerAPI {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg == nil {
		return nil
	}
	return a.cfg.PeerAPI
}

// ConfigFingerprint is the running configuration as the pair compares it
// for drift.
func (a *Appliance) ConfigFingerprint() (map[string]string, error) {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	if cfg == nil {
		return map[string]string{}, nil
	}
	return cfg.Fingerprint()
}
