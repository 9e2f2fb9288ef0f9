package benchkit

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets, so that a run of any
// length keeps a fixed, small amount of memory (about 20 KiB) and still
// answers any quantile to within 1 %.
//
// It is hand-written rather than taken from a library: go.mod has no
// HDR-style histogram (Prometheus histograms have fixed, coarse buckets),
// and the whole idea fits in a few lines. Values are microseconds. Below
// 2^subBits µs every value has its own bucket (exact); above, each power of
// two [2^k, 2^(k+1)) is cut into 2^subBits equal buckets, so a bucket is at
// most 1/2^subBits = 0.8 % of its lower bound wide and its midpoint is
// within 0.4 % of any value in it. Values from 1 µs to MaxValue are kept;
// larger ones are counted in the top bucket (Max stays exact).
//
// A Histogram is not safe for concurrent use: give each shard of clients
// its own and Merge them at the end.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

const (
	subBits    = 7
	subBuckets = 1 << subBits // buckets per power of two, and the exact range
	// MaxValue is the largest duration a histogram resolves; longer ones
	// land in the top bucket.
	MaxValue = 60 * time.Second
)

// numBuckets covers 0 .. MaxValue in microseconds.
var numBuckets = bucketOf(uint64(MaxValue/time.Microsecond)) + 1

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets)}
}

// bucketOf maps a value in µs to its bucket index.
func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - subBits - 1 // us>>shift is in [subBuckets, 2*subBuckets)
	return subBuckets + shift*subBuckets + int(us>>shift) - subBuckets
}

// bucketRange returns the lowest value in bucket i and the bucket's width, in µs.
func bucketRange(i int) (lo, width uint64) {
	if i < subBuckets {
		return uint64(i), 1
	}
	shift := (i - subBuckets) / subBuckets
	sub := uint64(i-subBuckets)%subBuckets + subBuckets
	return sub << shift, 1 << shift
}

// Record adds one duration. Negative durations (clock steps) count as 0.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	us := uint64(d / time.Microsecond)
	i := bucketOf(min(us, uint64(MaxValue/time.Microsecond)))
	h.counts[i]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest value recorded, exactly; 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Mean is the average value; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the value below which a fraction q (0..1) of the
// recorded values lie: the midpoint of the bucket holding the value of rank
// ceil(q*n), clamped to [Min, Max]. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			// Twice the midpoint, halved after the conversion, keeps
			// sub-µs precision for width-1 buckets.
			v := time.Duration(2*lo+w) * time.Microsecond / 2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// histogramJSON is a Histogram on the wire between a load tool's worker
// processes: only the non-empty buckets, as [index, count] pairs, so an
// idle histogram is a few bytes and a busy one a few KiB.
type histogramJSON struct {
	Buckets [][2]uint64   `json:"buckets"`
	N       uint64        `json:"n"`
	Sum     time.Duration `json:"sum_ns"`
	Min     time.Duration `json:"min_ns"`
	Max     time.Duration `json:"max_ns"`
}

// MarshalJSON renders the histogram exactly: UnmarshalJSON gives back one
// that answers every query the same.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	v := histogramJSON{N: h.n, Sum: h.sum, Min: h.min, Max: h.max, Buckets: [][2]uint64{}}
	for i, c := range h.counts {
		if c > 0 {
			v.Buckets = append(v.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes; a bucket index out of range
// is an error (a histogram from an incompatible build).
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var v histogramJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	counts := make([]uint64, numBuckets)
	var n uint64
	for _, bc := range v.Buckets {
		if bc[0] >= uint64(numBuckets) {
			return fmt.Errorf("histogram bucket %d out of range %d", bc[0], numBuckets)
		}
		counts[bc[0]] += bc[1]
		n += bc[1]
	}
	if n != v.N {
		return fmt.Errorf("histogram buckets hold %d values, n says %d", n, v.N)
	}
	*h = Histogram{counts: counts, n: v.N, sum: v.Sum, min: v.Min, max: v.Max}
	return nil
}
