package tree

import (
	"cmp"
	"math"
	"sync"

	"github.com/relaymesh/relaymesh/regions"
)

// Node is a node's identity as far as the tree cares: its unique name and its
// region. Both must stay fixed for the node's lifetime (see the package doc).
type Node struct {
	Name   string
	Region string
}

// unknownRank is the rank of a region not in the catalog: below every known
// region, so a node with a mistyped or unfamiliar region can still hang off
// the tree but never becomes anyone else's path to the root.
const unknownRank = math.MaxInt

// regionRanks memoises regions.Rank, which sorts the catalog on every call;
// Parent asks for a rank per candidate. The table is a pure function of the
// compiled-in latency model, so computing it once is safe and no test can
// observe the difference.
var regionRanks = sync.OnceValue(func() map[string]int {
	m := make(map[string]int)
	for _, r := range regions.Ranked() {
		m[r.Name], _ = regions.Rank(r.Name)
	}
	return m
})

func regionRank(name string) int {
	if r, ok := regionRanks()[name]; ok {
		return r
	}
	return unknownRank
}

// compare orders nodes highest rank first: region rank, then name, then
// region name. The last key only matters for two nodes with the same name in
// different regions, which the mesh never produces; it keeps the order a
// strict total order on every possible Node so no input can break it.
func compare(a, b Node) int {
	return cmp.Or(
		cmp.Compare(regionRank(a.Region), regionRank(b.Region)),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Region, b.Region),
	)
}

// Less reports whether a ranks strictly higher than b: a's region is more
// central (a smaller regions.Rank), or the regions rank the same and a's name
// sorts first. Unknown regions rank after every known one, then by name. Less
// is a strict total order that depends on nothing but a and b, which is what
// makes the tree loop-free (see the package doc).
func Less(a, b Node) bool { return compare(a, b) < 0 }
