package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDiscoverReadsTheTree: the parents come from the members benchkit
// keeps whole, alive ones only, with or without an HTTP address.
func TestDiscoverReadsTheTree(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"self":{"name":"tokyo-1","region":"tokyo"},"members":[
			{"name":"tokyo-1","region":"tokyo","state":"alive","http":"127.0.0.1:1"},
			{"name":"seoul-1","region":"seoul","state":"alive","parent":"tokyo-1"},
			{"name":"virginia-1","region":"virginia","state":"dead","http":"127.0.0.1:2","parent":"tokyo-1"}]}`)
	}))
	defer srv.Close()
	for name, get := range map[string]func() (Mesh, error){
		"discover": func() (Mesh, error) { return Discover(context.Background(), nil, srv.URL) },
		"describe": func() (Mesh, error) { return Describe(context.Background(), nil, []string{srv.URL}) },
	} {
		m, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Nodes) != 1 || m.Nodes[0].Name != "tokyo-1" {
			t.Errorf("%s: nodes %+v", name, m.Nodes)
		}
		if len(m.Parents) != 2 || m.Parents["tokyo-1"] != "" || m.Parents["seoul-1"] != "tokyo-1" ||
			len(m.Regions) != 2 || m.Regions["seoul-1"] != "seoul" {
			t.Errorf("%s: parents %v, regions %v", name, m.Parents, m.Regions)
		}
		if roots := m.Roots(); len(roots) != 1 || roots[0] != "tokyo-1" {
			t.Errorf("%s: roots %v", name, roots)
		}
	}
}

func TestModelOneWayAlongTree(t *testing.T) {
	// The dev mesh's tree: tokyo is the root, seoul and virginia hang from
	// it, frankfurt from virginia.
	m := Mesh{
		Parents: map[string]string{"tokyo-1": "", "seoul-1": "tokyo-1", "virginia-1": "tokyo-1", "frankfurt-1": "virginia-1"},
		Regions: map[string]string{"tokyo-1": "tokyo", "seoul-1": "seoul", "virginia-1": "virginia", "frankfurt-1": "frankfurt"},
	}
	us := time.Microsecond
	for _, c := range []struct {
		a, b string
		want time.Duration
	}{
		{"seoul-1", "seoul-1", 0},
		{"seoul-1", "tokyo-1", 17300 * us},
		{"seoul-1", "frankfurt-1", 17300*us + 73250*us + 45300*us},
		{"frankfurt-1", "virginia-1", 45300 * us},
		{"tokyo-1", "frankfurt-1", 73250*us + 45300*us},
	} {
		got, ok := m.ModelOneWay(c.a, c.b)
		if !ok || got != c.want {
			t.Errorf("%s -> %s: %v %v, want %v", c.a, c.b, got, ok, c.want)
		}
	}
	if _, ok := m.ModelOneWay("seoul-1", "nowhere-1"); ok {
		t.Error("a node outside the tree must not have a model latency")
	}
	if roots := m.Roots(); len(roots) != 1 || roots[0] != "tokyo-1" {
		t.Errorf("roots %v", roots)
	}
}
