package benchkit

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

// Node is one edge a load tool sends its clients to.
type Node struct {
	URL    string `json:"url"`    // base URL, http://host:port
	Name   string `json:"name"`   // member name (chat: the origin part of message ids)
	Region string `json:"region"` // its region
}

// Mesh is what a load tool knows about the mesh: the nodes it uses, and
// every alive member as the first node asked lists it.
type Mesh struct {
	Nodes   []Node
	Members []Member
}

// Member is an alive member as GET /v1/mesh lists it, HTTP address or not.
// JSON is its whole object: a tool reads the fields only it needs (the chat
// bench: the tree parent) without this package knowing them.
type Member struct {
	Name   string
	Region string
	JSON   json.RawMessage

	http string // host:port, or ""
}

// meshView is the part of GET /v1/mesh this package reads; members are
// kept raw for Member.JSON.
type meshView struct {
	Self    memberView        `json:"self"`
	Members []json.RawMessage `json:"members"`
}

type memberView struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	State  string `json:"state"`
	HTTP   string `json:"http"`
}

// Discover asks the node at base for the mesh (GET /v1/mesh) and returns
// every alive member with an HTTP address, in the order of regions.All then
// by name, so that clients spread the same way on every run.
func Discover(ctx context.Context, client *http.Client, base string) (Mesh, error) {
	v, err := fetchMesh(ctx, client, base)
	if err != nil {
		return Mesh{}, err
	}
	m := Mesh{Members: v.alive}
	for _, mem := range v.alive {
		if mem.http != "" {
			m.Nodes = append(m.Nodes, Node{URL: "http://" + mem.http, Name: mem.Name, Region: mem.Region})
		}
	}
	if len(m.Nodes) == 0 {
		return Mesh{}, fmt.Errorf("bench: %s/v1/mesh lists no alive member with an HTTP address", base)
	}
	sortNodes(m.Nodes)
	return m, nil
}

// Describe asks each of the given nodes for its name and region (its own
// GET /v1/mesh) and takes the members from the first. The order is kept.
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
			m.Members = v.alive
		}
		if v.self.Name == "" || v.self.Region == "" {
			return Mesh{}, fmt.Errorf("bench: %s/v1/mesh does not name the node or its region", base)
		}
		m.Nodes = append(m.Nodes, Node{URL: strings.TrimRight(base, "/"), Name: v.self.Name, Region: v.self.Region})
	}
	return m, nil
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

// fetched is one node's answer to GET /v1/mesh.
type fetched struct {
	self  memberView
	alive []Member // in the node's order
}

func fetchMesh(ctx context.Context, client *http.Client, base string) (fetched, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + "/v1/mesh")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fetched{}, fmt.Errorf("bench: node address %q is not an http(s) URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fetched{}, fmt.Errorf("bench: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("bench: ask %s for the mesh: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fetched{}, fmt.Errorf("bench: read %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("bench: %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var v meshView
	if err := json.Unmarshal(body, &v); err != nil {
		return fetched{}, fmt.Errorf("bench: decode %s: %w", u, err)
	}
	f := fetched{self: v.Self}
	for _, raw := range v.Members {
		var mem memberView
		if err := json.Unmarshal(raw, &mem); err != nil {
			return fetched{}, fmt.Errorf("bench: decode %s: %w", u, err)
		}
		if mem.State == "alive" {
			f.alive = append(f.alive, Member{Name: mem.Name, Region: mem.Region, JSON: raw, http: mem.HTTP})
		}
	}
	return f, nil
}
