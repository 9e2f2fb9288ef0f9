package benchkit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CountsString renders {"a":1,"b":2} as "a=1 b=2", or "none".
func CountsString(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// Millis is d in milliseconds, rounded to the µs: how the reports give
// latencies.
func Millis(d time.Duration) float64 { return float64(d.Round(time.Microsecond)) / 1e6 }
