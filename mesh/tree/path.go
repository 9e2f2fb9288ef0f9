package tree

// Path is the route along a tree between two nodes: up from a to their
// first common ancestor, then down to b, both ends included. parents maps
// every node to its parent ("" for a root). ok is false when a or b is not
// in parents, a walk up does not end (a cycle), or they are in different
// trees. Chat messages travel this route, so tests and the load tool
// derive their latency floors from it.
func Path(parents map[string]string, a, b string) (path []string, ok bool) {
	up := func(n string) []string {
		var p []string
		for len(p) <= len(parents) {
			if _, known := parents[n]; !known {
				return nil
			}
			p = append(p, n)
			if n = parents[n]; n == "" {
				return p
			}
		}
		return nil // longer than the tree: a cycle
	}
	pa, pb := up(a), up(b)
	if pa == nil || pb == nil {
		return nil, false
	}
	onB := make(map[string]int, len(pb))
	for i, n := range pb {
		onB[n] = i
	}
	for _, n := range pa {
		path = append(path, n)
		if i, found := onB[n]; found {
			for j := i - 1; j >= 0; j-- {
				path = append(path, pb[j])
			}
			return path, true
		}
	}
	return nil, false
}
