package health

import (
	"fmt"
	"time"

	"lbd/config"
)

// counter is HAProxy's health counter of one server (check->health).
//
// health runs from 0 to rise+fall-1. A server is UP while health >= rise.
// A passed check adds one, and reaching rise jumps to the maximum; a failed
// check takes one away, and falling under rise drops to 0 (DOWN). So from a
// stable UP server it takes fall consecutive failures to go DOWN, and from a
// DOWN one rise consecutive successes to come back, exactly as in HAProxy.
type counter struct {
	health int
	rise   int
	fall   int
	up     bool
}

func (c *counter) max() int { return c.rise + c.fall - 1 }

// pass records a passed check and reports whether the server came UP.
func (c *counter) pass() (wentUp bool) {
	if c.health < c.max() {
		c.health++
		if c.health >= c.rise {
			c.health = c.max()
		}
	}
	if !c.up && c.health >= c.rise {
		c.up = true
		return true
	}
	return false
}

// fail records a failed check and reports whether the server went DOWN.
func (c *counter) fail() (wentDown bool) {
	if c.health > 0 {
		c.health--
		if c.health < c.rise {
			c.health = 0
		}
	}
	if c.up && c.health == 0 {
		c.up = false
		return true
	}
	return false
}

// forceUp and forceDown are an agent's explicit "up" and "down": HAProxy
// applies them at once, without counting.
func (c *counter) forceUp() (wentUp bool) {
	c.health = c.max()
	if !c.up {
		c.up = true
		return true
	}
	return false
}

func (c *counter) forceDown() (wentDown bool) {
	c.health = 0
	if c.up {
		c.up = false
		return true
	}
	return false
}

// stable reports whether no transition is in progress.
func (c *counter) stable() bool {
	if c.up {
		return c.health == c.max()
	}
	return c.health == 0
}

// interval is HAProxy's srv_getinter: interval while stably UP,
// down_interval while stably DOWN, fast_interval while transitioning.
func (c *counter) interval(hc *config.HealthCheck) time.Duration {
	switch {
	case c.up && c.health == c.max():
		return hc.Interval
	case !c.up && c.health == 0:
		return hc.DownInterval
	}
	return hc.FastInterval
}

// resize adopts new rise/fall values keeping the operational state: an UP
// server becomes fully UP, a DOWN one fully DOWN.
func (c *counter) resize(rise, fall int) {
	c.rise, c.fall = rise, fall
	if c.up {
		c.health = c.max()
	} else {
		c.health = 0
	}
}

// String renders the state as HAProxy's stats page does. Going down,
// "UP 2/3" counts the checks still needed to go DOWN, of fall; going up,
// "DOWN 1/2" counts the successes so far, of rise.
func (c *counter) String() string {
	switch {
	case c.up && c.health < c.max():
		return fmt.Sprintf("UP %d/%d", c.health-c.rise+1, c.fall)
	case c.up:
		return "UP"
	case c.health > 0:
		return fmt.Sprintf("DOWN %d/%d", c.health, c.rise)
	}
	return "DOWN"
}
