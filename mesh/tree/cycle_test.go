package tree

import (
	"fmt"
	"testing"
)

func chain(n int) []Edge {
	es := make([]Edge, n)
	for i := range es {
		es[i] = Edge{fmt.Sprint(i), fmt.Sprint(i + 1)}
	}
	return es
}

func TestHasCycle(t *testing.T) {
	long := chain(10_000)
	for _, tc := range []struct {
		name  string
		edges []Edge
		want  bool
	}{
		{"none", nil, false},
		{"one edge", []Edge{{"a", "b"}}, false},
		{"self-loop", []Edge{{"a", "a"}}, true},
		{"two", []Edge{{"a", "b"}, {"b", "a"}}, true},
		{"three", []Edge{{"a", "b"}, {"b", "c"}, {"c", "a"}}, true},
		{"long chain", long, false},
		{"long chain closed", append(chain(10_000), Edge{"10000", "0"}), true},
		{"long chain into a loop", append(chain(10_000), Edge{"10000", "5000"}), true},
		{"tree", []Edge{{"b", "a"}, {"c", "a"}, {"d", "b"}, {"e", "b"}}, false},
		{"two trees", []Edge{{"b", "a"}, {"d", "c"}}, false},
		{"duplicate edge", []Edge{{"a", "b"}, {"a", "b"}}, false},
		{"diamond", []Edge{{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}}, false},
		{"cycle beside a tree", []Edge{{"b", "a"}, {"x", "y"}, {"y", "x"}}, true},
		{"tree under a cycle", []Edge{{"d", "a"}, {"a", "b"}, {"b", "a"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasCycle(tc.edges); got != tc.want {
				t.Fatalf("HasCycle = %v, want %v", got, tc.want)
			}
		})
	}
}
