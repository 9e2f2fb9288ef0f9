package benchkit

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// within reports whether got is within 1 % (or 1 µs, for tiny values) of want.
func within(got, want time.Duration) bool {
	diff := math.Abs(float64(got - want))
	return diff <= 0.01*float64(want) || diff <= float64(time.Microsecond)
}

// reference returns the value of rank ceil(q*n) in sorted, the definition
// Histogram.Quantile approximates.
func reference(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestHistogramQuantilesMatchSortedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		// chat over emulated WAN: tens to hundreds of ms
		"lognormal": func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*0.8 + math.Log(40e6)))
		},
		// loopback: tens of µs to a few ms
		"uniform-small": func() time.Duration { return time.Duration(rng.Int64N(int64(3 * time.Millisecond))) },
		// a bimodal mix with a far tail
		"bimodal": func() time.Duration {
			if rng.IntN(100) < 2 {
				return time.Duration(rng.Int64N(int64(20 * time.Second)))
			}
			return 70*time.Millisecond + time.Duration(rng.Int64N(int64(5*time.Millisecond)))
		},
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			h := NewHistogram()
			vals := make([]time.Duration, 50_000)
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), reference(vals, q)
				if !within(got, want) {
					t.Errorf("q%.3f = %v, sorted reference %v (off by %.2f%%)", q, got, want,
						100*math.Abs(float64(got-want))/float64(want))
				}
			}
			if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
				t.Errorf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), len(vals), vals[0], vals[len(vals)-1])
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram must answer 0")
	}
	h.Record(-time.Second) // a clock step counts as 0
	h.Record(5 * time.Minute)
	if h.Min() != 0 || h.Max() != 5*time.Minute {
		t.Errorf("min/max = %v/%v, want 0/5m", h.Min(), h.Max())
	}
	// Beyond MaxValue the quantile is clamped to the top bucket, not lost.
	if q := h.Quantile(1); q < MaxValue*99/100 || q > 5*time.Minute {
		t.Errorf("q1 = %v, want about %v", q, MaxValue)
	}
	one := NewHistogram()
	one.Record(42 * time.Millisecond)
	for _, q := range []float64{0, 0.5, 1} {
		if got := one.Quantile(q); got != 42*time.Millisecond {
			t.Errorf("single value: q%v = %v, want 42ms (clamped to min/max)", q, got)
		}
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	// Every bucket starts where the previous one ends, and bucketOf agrees
	// with bucketRange at both ends of each bucket.
	next := uint64(0)
	for i := range numBuckets {
		lo, w := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,%d) maps back to %d/%d", i, lo, lo+w, bucketOf(lo), bucketOf(lo+w-1))
		}
		if lo >= subBuckets && float64(w)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d is %.2f%% wide", i, 100*float64(w)/float64(lo))
		}
		next = lo + w
	}
	if next <= uint64(MaxValue/time.Microsecond) {
		t.Fatalf("buckets end at %d µs, below MaxValue", next)
	}
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 10_000 {
		d := time.Duration(rng.Int64N(int64(time.Second)))
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	m := NewHistogram()
	m.Merge(a)
	m.Merge(b)
	m.Merge(nil)
	m.Merge(NewHistogram())
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged q%v = %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if m.Count() != all.Count() || m.Min() != all.Min() || m.Max() != all.Max() || m.Mean() != all.Mean() {
		t.Errorf("merged summary differs: %d %v %v %v vs %d %v %v %v",
			m.Count(), m.Min(), m.Max(), m.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	h := NewHistogram()
	for _, d := range []time.Duration{0, 3 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, 1500 * time.Millisecond, 2 * time.Minute} {
		h.Record(d)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	got := NewHistogram()
	if err := json.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	if got.Count() != h.Count() || got.Min() != h.Min() || got.Max() != h.Max() || got.Mean() != h.Mean() {
		t.Errorf("round trip: n %d min %v max %v mean %v; want %d %v %v %v", got.Count(), got.Min(), got.Max(), got.Mean(), h.Count(), h.Min(), h.Max(), h.Mean())
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		if got.Quantile(q) != h.Quantile(q) {
			t.Errorf("q%v: %v, want %v", q, got.Quantile(q), h.Quantile(q))
		}
	}
	// Merging decoded histograms is merging the originals.
	m := NewHistogram()
	m.Merge(got)
	m.Merge(got)
	if m.Count() != 2*h.Count() || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merged: n %d p50 %v", m.Count(), m.Quantile(0.5))
	}
	for _, bad := range []string{`{"buckets":[[999999,1]],"n":1}`, `{"buckets":[[1,2]],"n":1}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), NewHistogram()); err == nil {
			t.Errorf("%s: decoded without error", bad)
		}
	}
}
