package tree

// Edge is one leaf-node connection, child to parent, by node name.
type Edge struct {
	Child  string `json:"child"`
	Parent string `json:"parent"`
}

// HasCycle reports whether the directed graph of edges contains a cycle,
// including a self-loop or two nodes pointing at each other. Parent makes
// cycles impossible; HasCycle exists to check that claim in tests and to let
// /v1/mesh flag a mesh whose reported edges disagree with it (for instance
// nodes running different region tables).
//
// It accepts any edge list, not only one parent per child, and uses Kahn's
// algorithm: repeatedly remove nodes with no incoming edges; whatever cannot
// be removed lies on or behind a cycle. It is iterative, so a long chain
// cannot exhaust the stack, and O(nodes + edges).
func HasCycle(edges []Edge) bool {
	out := make(map[string][]string, len(edges))
	in := make(map[string]int, len(edges))
	for _, e := range edges {
		out[e.Child] = append(out[e.Child], e.Parent)
		in[e.Parent]++
		if _, ok := in[e.Child]; !ok {
			in[e.Child] = 0
		}
	}
	var ready []string
	for n, d := range in {
		if d == 0 {
			ready = append(ready, n)
		}
	}
	removed := 0
	for len(ready) > 0 {
		n := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		removed++
		for _, p := range out[n] {
			if in[p]--; in[p] == 0 {
				ready = append(ready, p)
			}
		}
	}
	return removed < len(in)
}
