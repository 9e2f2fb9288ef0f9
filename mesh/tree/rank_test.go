package tree

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLess(t *testing.T) {
	for _, tc := range []struct {
		a, b Node
		want bool
	}{
		{Node{"z", "tokyo"}, Node{"a", "virginia"}, true}, // region first
		{Node{"z", "virginia"}, Node{"a", "seoul"}, true},
		{Node{"z", "seoul"}, Node{"a", "frankfurt"}, true},
		{Node{"a", "frankfurt"}, Node{"z", "seoul"}, false},
		{Node{"a", "tokyo"}, Node{"b", "tokyo"}, true}, // then name
		{Node{"b", "tokyo"}, Node{"a", "tokyo"}, false},
		{Node{"a", "tokyo"}, Node{"a", "tokyo"}, false},   // irreflexive
		{Node{"z", "frankfurt"}, Node{"a", "mars"}, true}, // unknown ranks last
		{Node{"z", "frankfurt"}, Node{"a", ""}, true},
		{Node{"a", "mars"}, Node{"b", "venus"}, true}, // unknowns by name
		{Node{"a", "mars"}, Node{"a", "venus"}, true}, // then region, so the order stays total
	} {
		if got := Less(tc.a, tc.b); got != tc.want {
			t.Errorf("Less(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestLessStrictTotalOrder checks what the loop-freedom argument needs from
// Less: exactly one of a<b, b<a, a==b for every pair, and transitivity.
func TestLessStrictTotalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var ns []Node
	for range 60 {
		ns = append(ns, Node{Name: randomName(r), Region: randomRegion(r)})
	}
	for _, a := range ns {
		for _, b := range ns {
			n := 0
			for _, ok := range []bool{Less(a, b), Less(b, a), a == b} {
				if ok {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%v and %v: Less(a,b)=%v Less(b,a)=%v", a, b, Less(a, b), Less(b, a))
			}
			for _, c := range ns {
				if Less(a, b) && Less(b, c) && !Less(a, c) {
					t.Fatalf("not transitive: %v < %v < %v", a, b, c)
				}
			}
		}
	}
	sorted := slices.SortedFunc(slices.Values(ns), compare)
	if !slices.IsSortedFunc(sorted, compare) || compare(sorted[0], sorted[len(sorted)-1]) > 0 {
		t.Fatalf("sort by compare is inconsistent: %v", sorted)
	}
}
