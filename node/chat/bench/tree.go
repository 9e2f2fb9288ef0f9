package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/relaymesh/relaymesh/mesh/tree"
	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/regions"
)

// Mesh is the nodes the run uses and the chat tree as the first of them
// reports it.
type Mesh struct {
	Nodes []benchkit.Node
	// Parents maps every alive member to its leaf parent; "" for a root.
	// Empty when the node does not report parents.
	Parents map[string]string
	// Regions maps every alive member to its region.
	Regions map[string]string
}

// Discover is benchkit.Discover with the chat tree.
func Discover(ctx context.Context, client *http.Client, base string) (Mesh, error) {
	return withTree(benchkit.Discover(ctx, client, base))
}

// Describe is benchkit.Describe with the chat tree, from the first node.
func Describe(ctx context.Context, client *http.Client, bases []string) (Mesh, error) {
	return withTree(benchkit.Describe(ctx, client, bases))
}

// withTree reads each member's parent: a field of GET /v1/mesh that only
// the chat bench needs, so benchkit leaves it in Member.JSON.
func withTree(km benchkit.Mesh, err error) (Mesh, error) {
	if err != nil {
		return Mesh{}, err
	}
	m := Mesh{Nodes: km.Nodes, Parents: map[string]string{}, Regions: map[string]string{}}
	for _, mem := range km.Members {
		var v struct {
			Parent string `json:"parent"`
		}
		if err := json.Unmarshal(mem.JSON, &v); err != nil {
			return Mesh{}, fmt.Errorf("bench: the parent of %s: %w", mem.Name, err)
		}
		m.Parents[mem.Name] = v.Parent
		m.Regions[mem.Name] = mem.Region
	}
	return m, nil
}

// Roots returns the alive members without a parent, sorted. A whole tree
// has exactly one.
func (m Mesh) Roots() []string {
	var roots []string
	for n, p := range m.Parents {
		if p == "" {
			roots = append(roots, n)
		}
	}
	slices.Sort(roots)
	return roots
}

// ModelOneWay is the one-way latency the regions model gives for a message
// from node a to node b along the chat tree (up from a to the first common
// ancestor, then down to b): what WAN emulation adds, and the floor for
// that pair. ok is false when the tree does not connect them.
func (m Mesh) ModelOneWay(a, b string) (d time.Duration, ok bool) {
	path, ok := tree.Path(m.Parents, a, b)
	if !ok {
		return 0, false
	}
	for i := 1; i < len(path); i++ {
		ow, err := regions.OneWay(m.Regions[path[i-1]], m.Regions[path[i]])
		if err != nil {
			return 0, false
		}
		d += ow
	}
	return d, true
}
