package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/relaymesh/relaymesh/regions"
)

// Node is one edge the benchmark connects fans to.
type Node struct {
	URL    string `json:"url"`    // base URL, http://host:port
	Name   string `json:"name"`   // node name, the origin part of its message ids
	Region string `json:"region"` // its region
}

// Mesh is what the benchmark knows about the mesh: the nodes it uses and
// the chat tree as the first of them reports it.
type Mesh struct {
	Nodes []Node
	// Parents maps every alive member to its leaf parent; "" for a root.
	// Empty when the node does not report parents.
	Parents map[string]string
	// Regions maps every alive member to its region.
	Regions map[string]string
}

// meshView is the part of GET /v1/mesh the benchmark reads.
type meshView struct {
	Self    memberView   `json:"self"`
	Members []memberView `json:"members"`
}

type memberView struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	State  string `json:"state"`
	HTTP   string `json:"http"`
	Parent string `json:"parent"`
}

// Discover asks the node at base for the mesh (GET /v1/mesh) and returns
// every alive member with an HTTP address, in the order of regions.All then
// by name, so that fans spread the same way on every run.
func Discover(ctx context.Context, client *http.Client, base string) (Mesh, error) {
	v, err := fetchMesh(ctx, client, base)
	if err != nil {
		return Mesh{}, err
	}
	m := meshOf(v)
	for _, mem := range v.Members {
		if mem.State == "alive" && mem.HTTP != "" {
			m.Nodes = append(m.Nodes, Node{URL: "http://" + mem.HTTP, Name: mem.Name, Region: mem.Region})
		}
	}
	if len(m.Nodes) == 0 {
		return Mesh{}, fmt.Errorf("bench: %s/v1/mesh lists no alive member with an HTTP address", base)
	}
	sortNodes(m.Nodes)
	return m, nil
}

// Describe asks each of the given nodes for its name and region (its own
// GET /v1/mesh) and takes the tree from the first. The order is kept.
func Describe(ctx context.Context, client *http.Client, bases []string) (Mesh, error) {
	if len(bases) == 0 {
		return Mesh{}, errors.New("bench: no nodes given")
	}
	var m Mesh
	for i, base := range bases {
		v, err := fetchMesh(ctx, client, base)
		if err != nil {
			return Mesh{}, err
		}
		if i == 0 {
			m = meshOf(v)
		}
		if v.Self.Name == "" || v.Self.Region == "" {
			return Mesh{}, fmt.Errorf("bench: %s/v1/mesh does not name the node or its region", base)
		}
		m.Nodes = append(m.Nodes, Node{URL: strings.TrimRight(base, "/"), Name: v.Self.Name, Region: v.Self.Region})
	}
	return m, nil
}

func meshOf(v meshView) Mesh {
	m := Mesh{Parents: map[string]string{}, Regions: map[string]string{}}
	for _, mem := range v.Members {
		if mem.State == "alive" {
			m.Parents[mem.Name] = mem.Parent
			m.Regions[mem.Name] = mem.Region
		}
	}
	return m
}

// sortNodes orders nodes by region (regions.All order) then name.
func sortNodes(ns []Node) {
	order := map[string]int{}
	for i, r := range regions.All() {
		order[r.Name] = i
	}
	slices.SortFunc(ns, func(a, b Node) int {
		ra, oka := order[a.Region]
		rb, okb := order[b.Region]
		if !oka {
			ra = len(order)
		}
		if !okb {
			rb = len(order)
		}
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func fetchMesh(ctx context.Context, client *http.Client, base string) (meshView, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + "/v1/mesh")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return meshView{}, fmt.Errorf("bench: node address %q is not an http(s) URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return meshView{}, fmt.Errorf("bench: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return meshView{}, fmt.Errorf("bench: ask %s for the mesh: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return meshView{}, fmt.Errorf("bench: read %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return meshView{}, fmt.Errorf("bench: %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var v meshView
	if err := json.Unmarshal(body, &v); err != nil {
		return meshView{}, fmt.Errorf("bench: decode %s: %w", u, err)
	}
	return v, nil
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
	up := func(n string) []string {
		var path []string
		for seen := 0; n != "" && seen <= len(m.Parents); seen++ {
			path = append(path, n)
			p, known := m.Parents[n]
			if !known {
				return nil
			}
			n = p
		}
		return path
	}
	pa, pb := up(a), up(b)
	if pa == nil || pb == nil {
		return 0, false
	}
	onB := map[string]int{}
	for i, n := range pb {
		onB[n] = i
	}
	var path []string
	for _, n := range pa {
		path = append(path, n)
		if i, found := onB[n]; found {
			for j := i - 1; j >= 0; j-- {
				path = append(path, pb[j])
			}
			ok = true
			break
		}
	}
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
