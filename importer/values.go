package importer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseHAProxyTime reads an HAProxy time: a whole number with an optional
// unit (us, ms, s, m, h, d); without one it is in defUnit (milliseconds
// for timeouts and check intervals, seconds for a few keywords).
func parseHAProxyTime(s string, defUnit time.Duration) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a time (a number with an optional unit: us, ms, s, m, h, d)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	unit := defUnit
	switch s[i:] {
	case "":
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("%q has an unknown unit %q (us, ms, s, m, h or d)", s, s[i:])
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return time.Duration(n) * unit, nil
}

// parseSeconds reads keepalived's times: seconds, possibly with a decimal
// part ("1", "0.5").
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e7 {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	return time.Duration(math.Round(f * float64(time.Second))), nil
}

// parseInt reads a whole number within [lo, hi].
func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
	}
	return n, nil
}

// statusSet is a set of HTTP statuses written as lbd's expect_status:
// numbers and "NNN-MMM" ranges.
type statusSet []string

func (s statusSet) hcl() string {
	parts := make([]string, len(s))
	for i, x := range s {
		if strings.Contains(x, "-") {
			parts[i] = quote(x)
		} else {
			parts[i] = x
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// parseStatusList reads HAProxy's "200,201,300-310" (http-check expect
// status) into a statusSet.
func parseStatusList(s string) (statusSet, error) {
	var out statusSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseInt(lo, 100, 599)
		if err != nil {
			return nil, fmt.Errorf("status %q: %v", part, err)
		}
		if !isRange {
			out = append(out, strconv.Itoa(a))
			continue
		}
		b, err := parseInt(hi, 100, 599)
		if err != nil || b < a {
			return nil, fmt.Errorf("status range %q is not LOW-HIGH within 100..599", part)
		}
		out = append(out, fmt.Sprintf("%d-%d", a, b))
	}
	return out, nil
}
