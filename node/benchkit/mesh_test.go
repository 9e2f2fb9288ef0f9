package benchkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// meshServer answers GET /v1/mesh with body.
func meshServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/mesh" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const fourMembers = `{"self":{"name":"tokyo-1","region":"tokyo"},"members":[
	{"name":"frankfurt-1","region":"frankfurt","state":"alive","http":"127.0.0.1:4","parent":"virginia-1"},
	{"name":"tokyo-2","region":"tokyo","state":"alive","http":"127.0.0.1:3","parent":"tokyo-1"},
	{"name":"tokyo-1","region":"tokyo","state":"alive","http":"127.0.0.1:2"},
	{"name":"seoul-1","region":"seoul","state":"suspect","http":"127.0.0.1:1"},
	{"name":"virginia-1","region":"virginia","state":"alive","parent":"tokyo-1"}]}`

func TestDiscoverListsAliveNodesInRegionOrder(t *testing.T) {
	srv := meshServer(t, fourMembers)
	m, err := Discover(context.Background(), nil, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range m.Nodes {
		got = append(got, n.Name+"="+n.URL)
	}
	// regions.All order (tokyo before frankfurt), then by name; the
	// suspect member and the one without an HTTP address are left out.
	want := "tokyo-1=http://127.0.0.1:2 tokyo-2=http://127.0.0.1:3 frankfurt-1=http://127.0.0.1:4"
	if strings.Join(got, " ") != want {
		t.Errorf("nodes %q, want %q", strings.Join(got, " "), want)
	}
	// Members keep every alive member, in the node's order, whole.
	var names []string
	for _, mem := range m.Members {
		names = append(names, mem.Name+"@"+mem.Region)
	}
	if strings.Join(names, " ") != "frankfurt-1@frankfurt tokyo-2@tokyo tokyo-1@tokyo virginia-1@virginia" {
		t.Errorf("members %v", names)
	}
	var v struct {
		Parent string `json:"parent"`
	}
	if err := json.Unmarshal(m.Members[3].JSON, &v); err != nil || v.Parent != "tokyo-1" {
		t.Errorf("virginia-1's JSON %s: parent %q, %v", m.Members[3].JSON, v.Parent, err)
	}
}

func TestDescribeKeepsTheGivenOrder(t *testing.T) {
	a := meshServer(t, fourMembers)
	b := meshServer(t, `{"self":{"name":"seoul-1","region":"seoul"},"members":[]}`)
	m, err := Describe(context.Background(), nil, []string{a.URL + "/", b.URL})
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{URL: a.URL, Name: "tokyo-1", Region: "tokyo"}, {URL: b.URL, Name: "seoul-1", Region: "seoul"}}
	if len(m.Nodes) != 2 || m.Nodes[0] != want[0] || m.Nodes[1] != want[1] {
		t.Errorf("nodes %+v, want %+v", m.Nodes, want)
	}
	if len(m.Members) != 4 {
		t.Errorf("%d members, want the first node's 4 alive ones", len(m.Members))
	}
}

func TestMeshErrors(t *testing.T) {
	ctx := context.Background()
	none := meshServer(t, `{"self":{"name":"a-1","region":"seoul"},"members":[{"name":"a-1","region":"seoul","state":"alive"}]}`)
	anon := meshServer(t, `{"self":{},"members":[]}`)
	broken := meshServer(t, `{"members":[{"name":1}]}`)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no HTTP address", errOf(Discover(ctx, nil, none.URL)), "lists no alive member with an HTTP address"},
		{"not http", errOf(Discover(ctx, nil, "ftp://x")), `node address "ftp://x" is not an http(s) URL`},
		{"not found", errOf(Discover(ctx, nil, none.URL+"/nowhere")), "404 Not Found"},
		{"bad member", errOf(Discover(ctx, nil, broken.URL)), "decode"},
		{"no nodes", errOf(Describe(ctx, nil, nil)), "no nodes given"},
		{"nameless", errOf(Describe(ctx, nil, []string{anon.URL})), "does not name the node or its region"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), "bench: ") || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, tc.err, tc.want)
		}
	}
}

func errOf(_ Mesh, err error) error { return err }
