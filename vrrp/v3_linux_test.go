//go:build linux

package vrrp

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"lbd/config"
)

var (
	labVIP6    = netip.MustParseAddr("2001:db8::100")
	labPrefix6 = netip.MustParsePrefix("2001:db8::100/64")
)

// v3 makes a lab instance VRRPv3 with advert_int 100ms (and no password:
// VRRPv3 has none), on IPv6 with ipv6.
func v3(ipv6 bool, more ...func(*config.VRRPInstance)) func(*config.VRRPInstance) {
	return func(c *config.VRRPInstance) {
		c.Version, c.AdvertInt, c.AuthPass = 3, 100*time.Millisecond, ""
		if ipv6 {
			c.VirtualIPAddresses = []netip.Prefix{labPrefix6}
		}
		for _, m := range more {
			m(c)
		}
	}
}

// mdi3 is the VRRPv3 Master_Down_Interval for a master advertising every
// adv and a backup of priority prio.
func mdi3(adv time.Duration, prio int) time.Duration {
	return 3*adv + time.Duration(256-prio)*adv/256
}

// families runs f for IPv4 and IPv6, in parallel (each in a lab of its
// own).
func families(t *testing.T, f func(t *testing.T, ipv6 bool, vip netip.Addr)) {
	for _, fam := range []struct {
		name string
		v6   bool
		vip  netip.Addr
	}{{"IPv4", false, labVIP}, {"IPv6", true, labVIP6}} {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			f(t, fam.v6, fam.vip)
		})
	}
}

// TestLabV3 runs two lbd speakers with VRRPv3 and 100ms adverts, on IPv4
// and IPv6: election, the backup's view of the master (its link-local
// address for IPv6), a crash failover within the master down interval,
// the crashed node's return, and a graceful handover without a gap.
func TestLabV3(t *testing.T) {
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		l := newLab(t)
		na, nb := l.node("a", 1), l.node("b", 2)
		sa, sb := na.speaker(nil), nb.speaker(nil)
		if err := sb.Apply(labConfig(100, v3(ipv6))); err != nil {
			t.Fatal(err)
		}
		if err := sa.Apply(labConfig(150, v3(ipv6))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a MASTER with the VIP", func() bool {
			return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(vip) && stateOf(sb, "VI_1") == "BACKUP" && !nb.hasAddr(vip)
		})
		waitFor(t, 5*time.Second, "b hearing a", func() bool { return sb.Status()[0].Counters.AdvertsReceived > 5 })
		st, sta := sb.Status()[0], sa.Status()[0]
		if st.Master != sta.SourceAddress || st.MasterPriority != 150 || st.Version != 3 || st.MasterAdvertInt != "100ms" {
			t.Errorf("b's view: master %q (a is %q) priority %d version %d master interval %s", st.Master, sta.SourceAddress, st.MasterPriority, st.Version, st.MasterAdvertInt)
		}
		if src := netip.MustParseAddr(sta.SourceAddress); ipv6 != src.IsLinkLocalUnicast() {
			t.Errorf("a's adverts come from %s", src)
		}
		noInvalidPackets(t, sa, sb)

		wb := nb.watchAddr(vip)
		t0 := time.Now()
		crash(sa)
		waitFor(t, 5*time.Second, "b MASTER after a crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
		at, ok := wb.first(true, t0)
		if !ok {
			t.Fatal("VIP never added on b")
		}
		bound := mdi3(100*time.Millisecond, 100)
		t.Logf("FIGURE VRRPv3 crash failover (lbd->lbd, advert_int 100ms, backup priority 100): VIP on b %s after a died (master down interval %s)", at.Sub(t0).Round(time.Millisecond), bound)
		if d := at.Sub(t0); d > bound+500*time.Millisecond {
			t.Errorf("failover took %s, more than the master down interval %s + 0.5s", d, bound)
		}

		// a returns and preempts; then it stops: b takes over with no gap.
		sa2 := na.speaker(nil)
		if err := sa2.Apply(labConfig(150, v3(ipv6))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a MASTER again", func() bool {
			return stateOf(sa2, "VI_1") == "MASTER" && stateOf(sb, "VI_1") == "BACKUP" && !nb.hasAddr(vip) && na.hasAddr(vip)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		t0, added, removed := watchHandoverOf(t, vip, na, nb, func() error { return sa2.Shutdown(ctx) })
		t.Logf("FIGURE VRRPv3 graceful handover: b has the VIP %s after the stop began, a removed it %s later", added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond))
		if added.IsZero() || removed.Before(added) {
			t.Errorf("shutdown left a gap: b added at %v, a removed at %v", added, removed)
		}
		noInvalidPackets(t, sb)
	})
}

// TestLabV3LearnsMasterInterval: a VRRPv3 backup times the master down
// interval with the master's advertised interval, not its own (RFC 5798
// section 6.4.2): a master at 300ms, a backup configured at 100ms.
func TestLabV3LearnsMasterInterval(t *testing.T) {
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	sa, sb := na.speaker(nil), nb.speaker(nil)
	if err := sa.Apply(labConfig(150, v3(false, func(c *config.VRRPInstance) { c.AdvertInt = 300 * time.Millisecond }))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
	if err := sb.Apply(labConfig(100, v3(false))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b learning a's interval", func() bool {
		st := sb.Status()[0]
		return st.State == "BACKUP" && st.MasterAdvertInt == "300ms"
	})
	wb := nb.watchAddr(labVIP)
	t0 := time.Now()
	crash(sa)
	waitFor(t, 5*time.Second, "b MASTER", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
	at, _ := wb.first(true, t0)
	want := mdi3(300*time.Millisecond, 100)
	t.Logf("b took over %s after the crash (master down interval with the learned 300ms: %s; with its own 100ms it would be %s)",
		at.Sub(t0).Round(time.Millisecond), want, mdi3(100*time.Millisecond, 100))
	if d := at.Sub(t0); d < want-100*time.Millisecond {
		t.Errorf("b took over after %s: it did not wait the master down interval of the learned interval (%s)", d, want)
	}
	if st := sb.Status()[0]; st.MasterAdvertInt != "100ms" {
		t.Errorf("as master, b's master interval is %s, want its own 100ms", st.MasterAdvertInt)
	}
}

// TestLabV2V3Mixed: a VRRPv2 and a VRRPv3 router on one VRID refuse each
// other's adverts, count them and both become master, as two keepalived
// would (the mix is a configuration error).
func TestLabV2V3Mixed(t *testing.T) {
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	sa, sb := na.speaker(nil), nb.speaker(nil)
	if err := sa.Apply(labConfig(150, func(c *config.VRRPInstance) { c.AuthPass = "" })); err != nil {
		t.Fatal(err)
	}
	if err := sb.Apply(labConfig(100, v3(false))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both MASTER, each refusing the other's version", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && stateOf(sb, "VI_1") == "MASTER" &&
			sa.Status()[0].Counters.Invalid[string(ReasonVersion)] > 0 && sb.Status()[0].Counters.Invalid[string(ReasonVersion)] > 0
	})
}

// watchHandoverOf is watchHandover for any address.
func watchHandoverOf(t *testing.T, vip netip.Addr, from, to *labNode, act func() error) (t0, added, removed time.Time) {
	t.Helper()
	wf, wt := from.watchAddr(vip), to.watchAddr(vip)
	t0 = time.Now()
	if err := act(); err != nil {
		t.Fatal(err)
	}
	added, _ = wt.first(true, t0)
	removed, _ = wf.first(false, t0)
	return t0, added, removed
}

// noInvalidPackets fails the test if a speaker dropped a packet.
func noInvalidPackets(t *testing.T, ss ...*Speaker) {
	t.Helper()
	for _, s := range ss {
		for _, st := range s.Status() {
			for r, n := range st.Counters.Invalid {
				if n != 0 {
					t.Errorf("%s dropped %d packets as invalid (%s)", st.SourceAddress, n, r)
				}
			}
		}
	}
}
