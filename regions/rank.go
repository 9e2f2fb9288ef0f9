package regions

import (
	"cmp"
	"slices"
)

// Ranked returns the regions ordered by centrality in the measured model, most
// central first. Centrality is the sum of a region's measured RTTs to all other
// regions (smaller is more central); ties go to the smaller name so the order is
// total and the same on every node.
//
// The chat leaf-node tree uses this order: every node attaches to the nearest
// live node ranked above it (a smaller Rank, or the same region and a smaller
// node id), so edges only point towards the centre and any mix of stale
// membership views still forms a forest, never a loop. Putting the
// most central region at the root keeps the tree's longest path short.
func Ranked() []Region {
	ls := links()
	return rankByCentrality(All(), ls[:])
}

// rankByCentrality sorts rs in place by the sum of their measured RTTs in ls,
// then by name. It is separate from Ranked so tests can feed it ties.
func rankByCentrality(rs []Region, ls []link) []Region {
	sum := make(map[string]float64, len(rs))
	for _, l := range ls {
		sum[l.a] += l.measured
		sum[l.b] += l.measured
	}
	slices.SortFunc(rs, func(a, b Region) int {
		return cmp.Or(cmp.Compare(sum[a.Name], sum[b.Name]), cmp.Compare(a.Name, b.Name))
	})
	return rs
}

// Rank returns the position of the named region in Ranked(): 0 is the most
// central region, the root side of the leaf-node tree. Nodes of one region
// share its rank; the mesh orders them among themselves by node id.
func Rank(name string) (int, bool) {
	for i, r := range Ranked() {
		if r.Name == name {
			return i, true
		}
	}
	return 0, false
}
