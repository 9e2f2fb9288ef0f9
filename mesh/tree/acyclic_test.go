package tree

import (
	"flag"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("tree.seed", 0, "seed for TestParentsAcyclic (0: derive one from the clock)")

// source is the randomness the mesh generator needs: *rand.Rand in the
// property test, the fuzzer's bytes in the fuzz target.
type source interface{ IntN(n int) int }

// byteSource turns fuzzer input into choices, one byte per choice; once the
// input runs out every choice is 0, so any input decodes to a valid mesh.
type byteSource struct{ b []byte }

func (s *byteSource) IntN(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	return v % n
}

var known = []string{"tokyo", "virginia", "seoul", "frankfurt"}

// randomRegion is mostly known regions, sometimes an unknown or empty one.
func randomRegion(r source) string {
	switch i := r.IntN(20); {
	case i == 18:
		return "mars"
	case i == 19:
		return ""
	default:
		return known[i%4]
	}
}

// randomName draws from a tiny alphabet so names share prefixes and collide
// across regions, which is where an order could go wrong.
func randomName(r source) string {
	b := make([]byte, 1+r.IntN(3))
	for i := range b {
		b[i] = "abc"[r.IntN(3)]
	}
	return string(b)
}

// randomMesh returns a membership of 1..40 uniquely named nodes and, for each,
// its own stale view: a random subset of the membership (possibly itself),
// with random liveness and either a random RTT estimate or none. Nothing ties
// one node's view to another's, which is worse than real gossip ever gets.
func randomMesh(r source) ([]Node, [][]Candidate) {
	members := make([]Node, 1+r.IntN(40))
	seen := make(map[string]bool)
	for i := range members {
		name := randomName(r)
		if seen[name] {
			name += "-" + strconv.Itoa(i) // unique: random names have no '-'
		}
		seen[name] = true
		members[i] = Node{Name: name, Region: randomRegion(r)}
	}
	views := make([][]Candidate, len(members))
	for i := range views {
		for _, m := range members {
			if r.IntN(3) == 0 {
				continue // this node has not heard of m, or has forgotten it
			}
			c := Candidate{Node: m, Alive: r.IntN(4) != 0}
			if r.IntN(2) == 0 {
				c.RTT, c.HasRTT = time.Duration(r.IntN(250))*time.Millisecond, true
			}
			views[i] = append(views[i], c)
		}
	}
	return members, views
}

// checkForest computes every node's parent from its own view and fails unless
// each edge climbs in rank and the union of edges has no cycle, checked both
// by HasCycle and by walking parent pointers.
func checkForest(t *testing.T, members []Node, views [][]Candidate, where string) {
	t.Helper()
	byName := make(map[string]Node, len(members))
	for _, m := range members {
		byName[m.Name] = m
	}
	parent := make(map[string]string)
	var edges []Edge
	for i, self := range members {
		p, ok := Parent(self, views[i])
		if !ok {
			continue
		}
		if byName[p.Name] != p {
			t.Fatalf("%s: %v chose %v, not a member", where, self, p)
		}
		if !Less(p, self) {
			t.Fatalf("%s: edge %v -> %v does not climb in rank", where, self, p)
		}
		parent[self.Name] = p.Name
		edges = append(edges, Edge{self.Name, p.Name})
	}
	if HasCycle(edges) {
		t.Fatalf("%s: cycle in %v", where, edges)
	}
	for _, m := range members {
		n, steps := m.Name, 0
		for ; parent[n] != "" && steps <= len(members); steps++ {
			n = parent[n]
		}
		if steps > len(members) {
			t.Fatalf("%s: walking up from %s never reaches a root: %v", where, m.Name, edges)
		}
	}
}

// naiveHasCycle applies "nearest live node" without the rank rule, to show
// the generated views are adversarial enough to make loops when the rule is
// missing; otherwise a passing property test would prove little.
func naiveHasCycle(members []Node, views [][]Candidate) bool {
	var edges []Edge
	for i, self := range members {
		best, bestRTT := "", time.Duration(0)
		for _, c := range views[i] {
			if d := distance(self, c); c.Alive && c.Name != self.Name && (best == "" || d < bestRTT) {
				best, bestRTT = c.Name, d
			}
		}
		if best != "" {
			edges = append(edges, Edge{self.Name, best})
		}
	}
	return HasCycle(edges)
}

// TestParentsAcyclic is the property the leaf-node tree rests on: for random
// memberships in which every node has a different stale view, the union of
// all chosen edges is a forest. Rerun a failure with -tree.seed=SEED.
func TestParentsAcyclic(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -tree.seed=%d)", seed, seed)
	const cases = 10_000
	naiveLoops := 0
	for i := range cases {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		members, views := randomMesh(r)
		checkForest(t, members, views, "seed "+strconv.FormatUint(seed, 10)+" case "+strconv.Itoa(i))
		if naiveHasCycle(members, views) {
			naiveLoops++
		}
	}
	t.Logf("%d cases; without the rank rule %d of them would loop", cases, naiveLoops)
	if naiveLoops == 0 {
		t.Fatalf("no case loops without the rank rule: the generator is too tame to test anything")
	}
}

func FuzzParentsAcyclic(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 1, 2, 5, 0, 9, 2, 13, 1, 1, 1, 1, 1, 1, 1})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox"))
	f.Fuzz(func(t *testing.T, data []byte) {
		members, views := randomMesh(&byteSource{data})
		checkForest(t, members, views, "fuzz input")
	})
}
