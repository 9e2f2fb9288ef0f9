package regions

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// SameRegionRTT is the round trip assumed between two nodes in the same
// region. Nodes of one region sit in different availability zones of one metro
// area; 1 ms is a typical cross-AZ round trip, and keeping it non-zero means
// the model never claims a hop is free.
const SameRegionRTT = time.Millisecond

// ErrUnknownRegion is wrapped by every error about a region name that is not
// in the catalog, so callers can tell a typo from other failures.
var ErrUnknownRegion = errors.New("unknown region")

// link is one unordered pair of regions with its measured and physical round
// trips, in milliseconds, exactly as the product brief lists them.
type link struct {
	a, b     string
	measured float64 // public p50 inter-region RTT of the cloud regions
	fibre    float64 // light in fibre over the great-circle distance
}

// links returns the brief's latency table. Like catalog it is a function so
// the table cannot be mutated.
func links() [6]link {
	return [6]link{
		{"seoul", "tokyo", 34.6, 11.5},
		{"seoul", "virginia", 174.8, 111.4},
		{"seoul", "frankfurt", 231.3, 85.5},
		{"tokyo", "virginia", 146.5, 108.7},
		{"tokyo", "frankfurt", 225.1, 93.3},
		{"virginia", "frankfurt", 90.6, 65.5},
	}
}

// RTT returns the measured p50 round trip between two regions. It is symmetric;
// for a region and itself it returns SameRegionRTT. An unknown name is an error
// that names it and wraps ErrUnknownRegion.
func RTT(a, b string) (time.Duration, error) {
	l, same, err := find(a, b)
	if err != nil {
		return 0, err
	}
	if same {
		return SameRegionRTT, nil
	}
	return millis(l.measured), nil
}

// OneWay returns half the measured round trip: the delay the WAN emulator adds
// to each packet, and the floor for any message relayed between the regions.
func OneWay(a, b string) (time.Duration, error) {
	rtt, err := RTT(a, b)
	if err != nil {
		return 0, err
	}
	return rtt / 2, nil
}

// FibreRTT returns the brief's physical lower bound on the round trip between
// two regions: no path can beat it, so the gap between RTT and FibreRTT is what
// today's routes cost. For a region and itself it is 0, the bound at distance
// zero.
func FibreRTT(a, b string) (time.Duration, error) {
	l, same, err := find(a, b)
	if err != nil {
		return 0, err
	}
	if same {
		return 0, nil
	}
	return millis(l.fibre), nil
}

// find returns the table entry for the pair, or same=true when a and b name the
// same region.
func find(a, b string) (l link, same bool, err error) {
	for _, n := range []string{a, b} {
		if _, ok := Lookup(n); !ok {
			return link{}, false, fmt.Errorf("regions: %w %q (known: %s)", ErrUnknownRegion, n, strings.Join(Names(), ", "))
		}
	}
	if a == b {
		return link{}, true, nil
	}
	for _, l := range links() {
		if (l.a == a && l.b == b) || (l.a == b && l.b == a) {
			return l, false, nil
		}
	}
	// Unreachable while links covers every pair of the catalog; the tests
	// check that it does.
	return link{}, false, fmt.Errorf("regions: no latency entry for %q and %q", a, b)
}

// millis converts the table's fractional milliseconds to a Duration, rounded
// to the microsecond so 34.6 becomes exactly 34.6ms.
func millis(ms float64) time.Duration {
	return time.Duration(math.Round(ms*1000)) * time.Microsecond
}
