package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCPUList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		bad  bool
	}{
		{in: "1", want: []int{1}},
		{in: "0,1", want: []int{0, 1}},
		{in: "0-3", want: []int{0, 1, 2, 3}},
		{in: "0, 2-3", want: []int{0, 2, 3}},
		{in: "", bad: true},
		{in: "a", bad: true},
		{in: "3-1", bad: true},
		{in: "-1", bad: true},
		{in: "1,", bad: true},
		{in: "2048", bad: true},
	} {
		var set unix.CPUSet
		err := parseCPUList(c.in, &set)
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if set.Count() != len(c.want) {
			t.Errorf("%q: %d CPUs, want %v", c.in, set.Count(), c.want)
		}
		for _, cpu := range c.want {
			if !set.IsSet(cpu) {
				t.Errorf("%q: CPU %d not set", c.in, cpu)
			}
		}
	}
}
