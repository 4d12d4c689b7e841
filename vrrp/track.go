package vrrp

import (
	"fmt"
	"strings"
)

// Tracking changes an instance's priority, or holds it in FAULT, from
// three kinds of sources, all with keepalived's weight rule:
//
//   - weight > 0: the priority is raised by weight while the source is OK;
//   - weight < 0: it is lowered by |weight| while the source is KO;
//   - weight = 0: the instance is in FAULT while the source is KO.
//
// The effective priority is clamped to 1..254; an address owner (priority
// 255) ignores weights, as keepalived does, and only FAULT applies to it.

type trackKind string

const (
	trackScript    trackKind = "script"    // vrrp_script
	trackInterface trackKind = "interface" // track_interface, and the instance's own interface
	trackBackend   trackKind = "backend"   // track_backend, from the proxy's health
)

// trackSource answers the trackers' questions. The speaker implements it
// over the script runners, the link watcher and the BackendTracker; the
// unit tests with plain maps. Its methods must not call into an instance.
type trackSource interface {
	// script reports a vrrp_script's state; known is false until its
	// first run finished.
	script(name string) (known, ok bool, detail string)
	// linkUp reports whether an interface exists and is up and running.
	linkUp(name string) bool
	// usableServers is BackendTracker.UsableServers.
	usableServers(backend string) int
}

// tracker is one tracked source of one instance, with its last value.
type tracker struct {
	kind   trackKind
	name   string
	weight int
	minUp  int // backends only
	// implicit marks the instance's own interface, tracked as keepalived
	// does unless told otherwise.
	implicit bool

	known  bool
	ok     bool
	detail string
}

func (t *tracker) label() string { return string(t.kind) + " " + t.name }

// read refreshes the tracker from its source.
func (t *tracker) read(src trackSource) {
	switch t.kind {
	case trackScript:
		t.known, t.ok, t.detail = src.script(t.name)
	case trackInterface:
		t.known, t.ok = true, src.linkUp(t.name)
		t.detail = "down"
		if t.ok {
			t.detail = "up"
		}
	case trackBackend:
		n := src.usableServers(t.name)
		t.known, t.ok = true, n >= t.minUp
		t.detail = fmt.Sprintf("%d usable servers, min_up %d", n, t.minUp)
	}
}

// contribution is what the tracker adds to the priority now, and whether it
// holds the instance in FAULT. unweighted is keepalived's rule for the
// members of a vrrp_sync_group (without sync_group_tracking_weight): every
// tracker counts as weight 0, so that a failure is a FAULT of the group
// rather than priorities that differ between its members.
func (t *tracker) contribution(owner, unweighted bool) (delta int, fault bool) {
	if !t.known {
		return 0, false
	}
	switch {
	case t.weight == 0 || unweighted:
		return 0, !t.ok
	case owner:
		return 0, false
	case t.weight > 0 && t.ok:
		return t.weight, false
	case t.weight < 0 && !t.ok:
		return t.weight, false
	}
	return 0, false
}

// evaluation is the result of reading every tracker.
type evaluation struct {
	priority int    // effective priority
	fault    string // why the instance must be in FAULT, "" if not
	waiting  string // a tracker with no result yet, "" if none
}

// evaluate computes the effective priority and FAULT condition from the
// trackers' current values.
func evaluate(base int, trackers []*tracker, unweighted bool) evaluation {
	owner := base == PriorityOwner
	ev := evaluation{priority: base}
	var faults []string
	for _, t := range trackers {
		if !t.known {
			if ev.waiting == "" {
				ev.waiting = t.label()
			}
			continue
		}
		d, f := t.contribution(owner, unweighted)
		ev.priority += d
		if f {
			faults = append(faults, t.label()+" "+t.detail)
		}
	}
	if len(faults) > 0 {
		ev.fault = strings.Join(faults, ", ")
	}
	if !owner {
		ev.priority = min(max(ev.priority, 1), PriorityOwner-1)
	}
	return ev
}

// scriptCounter is keepalived's rise/fall counter of a vrrp_script.
// result runs from 0 to rise+fall-1; a script is OK from rise upwards.
// It starts at rise-1 with no state: the first result decides, then rise
// consecutive successes are needed to become OK and fall consecutive
// failures to become KO.
type scriptCounter struct {
	rise, fall int
	result     int
	known      bool
	ok         bool
}

func newScriptCounter(rise, fall int) scriptCounter {
	return scriptCounter{rise: rise, fall: fall, result: rise - 1}
}

// record applies one run's outcome and reports whether the OK/KO state
// changed (the first result always counts as a change).
func (c *scriptCounter) record(success bool) (changed bool) {
	top := c.rise + c.fall - 1
	first := !c.known
	c.known = true
	if success {
		switch {
		case c.result < c.rise-1:
			c.result++
		case c.result != top || first:
			changed = !c.ok || first
			c.ok = true
			c.result = top
		}
		return changed
	}
	if c.result > c.rise && !first {
		c.result--
		return false
	}
	changed = c.ok || first
	c.ok = false
	c.result = 0
	return changed
}
