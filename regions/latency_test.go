package regions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRTT(t *testing.T) {
	tests := []struct {
		a, b       string
		rtt, fibre time.Duration
	}{
		{"seoul", "tokyo", 34600 * time.Microsecond, 11500 * time.Microsecond},
		{"seoul", "virginia", 174800 * time.Microsecond, 111400 * time.Microsecond},
		{"seoul", "frankfurt", 231300 * time.Microsecond, 85500 * time.Microsecond},
		{"tokyo", "virginia", 146500 * time.Microsecond, 108700 * time.Microsecond},
		{"tokyo", "frankfurt", 225100 * time.Microsecond, 93300 * time.Microsecond},
		{"virginia", "frankfurt", 90600 * time.Microsecond, 65500 * time.Microsecond},
		{"seoul", "seoul", SameRegionRTT, 0},
		{"frankfurt", "frankfurt", SameRegionRTT, 0},
	}
	for _, tt := range tests {
		// Both directions: the model is symmetric.
		for _, p := range [][2]string{{tt.a, tt.b}, {tt.b, tt.a}} {
			rtt, err := RTT(p[0], p[1])
			if err != nil || rtt != tt.rtt {
				t.Errorf("RTT(%q, %q) = %v, %v; want %v", p[0], p[1], rtt, err, tt.rtt)
			}
			ow, err := OneWay(p[0], p[1])
			if err != nil || ow != tt.rtt/2 {
				t.Errorf("OneWay(%q, %q) = %v, %v; want %v", p[0], p[1], ow, err, tt.rtt/2)
			}
			fibre, err := FibreRTT(p[0], p[1])
			if err != nil || fibre != tt.fibre {
				t.Errorf("FibreRTT(%q, %q) = %v, %v; want %v", p[0], p[1], fibre, err, tt.fibre)
			}
		}
	}
}

// TestEveryPairCovered guards the invariant find relies on: the latency table
// has an entry for every pair of distinct catalog regions, and measured round
// trips never beat physics.
func TestEveryPairCovered(t *testing.T) {
	for _, a := range Names() {
		for _, b := range Names() {
			rtt, err := RTT(a, b)
			if err != nil {
				t.Errorf("RTT(%q, %q): %v", a, b, err)
				continue
			}
			fibre, err := FibreRTT(a, b)
			if err != nil {
				t.Errorf("FibreRTT(%q, %q): %v", a, b, err)
				continue
			}
			if rtt <= fibre {
				t.Errorf("%s-%s: measured %v is not above the fibre bound %v", a, b, rtt, fibre)
			}
		}
	}
}

func TestUnknownRegion(t *testing.T) {
	tests := []struct{ a, b, bad string }{
		{"seol", "tokyo", "seol"},
		{"tokyo", "paris", "paris"},
		{"", "seoul", ""},
		{"Seoul", "Seoul", "Seoul"},
	}
	funcs := map[string]func(a, b string) (time.Duration, error){
		"RTT": RTT, "OneWay": OneWay, "FibreRTT": FibreRTT,
	}
	for _, tt := range tests {
		for name, f := range funcs {
			_, err := f(tt.a, tt.b)
			if !errors.Is(err, ErrUnknownRegion) {
				t.Errorf("%s(%q, %q) error = %v, want ErrUnknownRegion", name, tt.a, tt.b, err)
				continue
			}
			if !strings.Contains(err.Error(), `"`+tt.bad+`"`) {
				t.Errorf("%s(%q, %q) error %q does not name %q", name, tt.a, tt.b, err, tt.bad)
			}
		}
	}
}
