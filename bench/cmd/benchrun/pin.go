package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pinSelf puts every thread of this process on the load CPUs, as wrk and
// nginx are. The benchmark's own clients run here (the flooders of the
// rate-limit cases, the idle and active connections of the scale cases,
// the syslog receiver): left to the scheduler, they also ran on the
// proxies' CPU and took from it what the proxies' figures then showed as
// their own cost. Threads started later inherit the mask of the thread
// that starts them.
func pinSelf(cpus string) error {
	var set unix.CPUSet
	if err := parseCPUList(cpus, &set); err != nil {
		return err
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin thread %d to CPUs %s: %w", tid, cpus, err)
		}
	}
	return nil
}

// parseCPUList reads a list as taskset -c takes it: "1", "0,1", "0-3".
func parseCPUList(s string, set *unix.CPUSet) error {
	set.Zero()
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1024 {
			return fmt.Errorf("CPU list %q: want numbers and ranges such as 1 or 0,1 or 0-3", s)
		}
		for c := a; c <= b; c++ {
			set.Set(c)
		}
	}
	return nil
}
