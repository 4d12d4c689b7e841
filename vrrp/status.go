package vrrp

import "time"

// InstanceStatus is one vrrp_instance as `lbctl vip status` shows it. The
// JSON keys are part of the admin API (DESIGN.md, "Admin API and lbctl").
type InstanceStatus struct {
	Name      string `json:"name"`
	Interface string `json:"interface"`
	// State is MASTER, BACKUP, FAULT or INIT.
	State string `json:"state"`
	// Priority is the configured (base) priority.
	Priority int `json:"priority"`
	// EffectivePriority is what the adverts carry: the base priority plus
	// the trackers' contributions, clamped to 1..254.
	EffectivePriority int      `json:"effective_priority"`
	VRID              int      `json:"vrid"`
	VIPs              []string `json:"vips"`
	// Master is the current master's address (ours when MASTER), "" when
	// none is known or the instance is not in BACKUP/MASTER.
	Master         string `json:"master"`
	MasterPriority int    `json:"master_priority,omitempty"`
	// SourceAddress is this node's primary address, the source of its
	// adverts and its tie-breaker.
	SourceAddress string `json:"source_address"`
	Mode          string `json:"mode"` // multicast or unicast
	// Version is the VRRP version, 2 or 3.
	Version   int    `json:"version"`
	AdvertInt string `json:"advert_int"`
	// MasterAdvertInt is Master_Adver_Interval: with VRRPv3 a backup
	// learns the master's interval from its adverts (RFC 5798 section
	// 6.4.2) and times the master down interval with it.
	MasterAdvertInt string `json:"master_advert_int"`
	// VMAC is the macvlan the VIPs are on (use_vmac), "" without.
	VMAC    string `json:"vmac,omitempty"`
	Preempt bool   `json:"preempt"`
	// Released is set by lbctl vip release until lbctl vip reclaim.
	Released bool `json:"released"`
	// HandingOver is true while a master that sent priority 0 keeps its
	// VIPs until the peer announces itself.
	HandingOver bool `json:"handing_over"`
	// SyncGroup is the vrrp_sync_group the instance is in, "" when none.
	SyncGroup string `json:"sync_group,omitempty"`
	// SyncGroupState is that group's state (MASTER when every member is,
	// BACKUP when none is, FAULT when one is; it keeps its last value
	// while members follow each other).
	SyncGroupState       string          `json:"sync_group_state,omitempty"`
	Trackers             []TrackerStatus `json:"trackers"`
	LastTransition       time.Time       `json:"last_transition"`
	LastTransitionReason string          `json:"reason"`
	Counters             Counters        `json:"counters"`
}

// TrackerStatus is one tracked source and what it does to the priority.
type TrackerStatus struct {
	// Kind is script, interface or backend.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Status is OK, KO, or INIT before a script's first result.
	Status string `json:"status"`
	Weight int    `json:"weight"`
	// Contribution is the priority change applied now.
	Contribution int `json:"contribution"`
	// Fault is true when this tracker holds the instance in FAULT.
	Fault bool `json:"fault"`
	// Implicit marks the instance's own interface, always tracked.
	Implicit bool   `json:"implicit,omitempty"`
	Detail   string `json:"detail"`
}

// Counters are an instance's packet and transition counts since start.
type Counters struct {
	AdvertsSent          uint64 `json:"adverts_sent"`
	AdvertsReceived      uint64 `json:"adverts_received"`
	PriorityZeroSent     uint64 `json:"priority_zero_sent"`
	PriorityZeroReceived uint64 `json:"priority_zero_received"`
	Transitions          uint64 `json:"transitions"`
	BecameMaster         uint64 `json:"became_master"`
	LeftMaster           uint64 `json:"left_master"`
	SendErrors           uint64 `json:"send_errors"`
	// Invalid counts dropped packets by Reason (every reason is present).
	Invalid map[string]uint64 `json:"invalid"`
}
