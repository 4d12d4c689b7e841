package main

import (
	"bytes"
	"strings"
	"testing"

	"lbd/vrrp"
)

func TestSyncGroupTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		vips []vrrp.InstanceStatus
		want []string // lines, spaces collapsed
	}{
		{name: "no groups", vips: []vrrp.InstanceStatus{{Name: "VI_1", State: "MASTER"}}},
		{name: "one group and a loner", vips: []vrrp.InstanceStatus{
			{Name: "front", State: "MASTER", SyncGroup: "G", SyncGroupState: "MASTER"},
			{Name: "alone", State: "BACKUP"},
			{Name: "back", State: "MASTER", SyncGroup: "G", SyncGroupState: "MASTER"},
		}, want: []string{"", "SYNC GROUP STATE MEMBERS", "G MASTER front=MASTER,back=MASTER"}},
		{name: "two groups in order", vips: []vrrp.InstanceStatus{
			{Name: "b1", State: "FAULT", SyncGroup: "H", SyncGroupState: "FAULT"},
			{Name: "a1", State: "BACKUP", SyncGroup: "G", SyncGroupState: "BACKUP"},
			{Name: "b2", State: "FAULT", SyncGroup: "H", SyncGroupState: "FAULT"},
		}, want: []string{"", "SYNC GROUP STATE MEMBERS", "H FAULT b1=FAULT,b2=FAULT", "G BACKUP a1=BACKUP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := syncGroupTable(&out, tc.vips); err != nil {
				t.Fatal(err)
			}
			var got []string
			if out.Len() > 0 {
				for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
					got = append(got, strings.Join(strings.Fields(l), " "))
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
