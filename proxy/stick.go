package proxy

import "lbd/rules"

// Stick tables (package stick) are not wired yet: the configuration
// refuses track rules and counters until they are.

func (e *Engine) tableByName(string) any { return nil }

func (t *txn) track(*rules.Rule, *rules.Ctx) {}

func (t *txn) counters() rules.Counters { return nil }
