package config

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestProblemsError(t *testing.T) {
	ps := Problems{
		{"", "invalid YAML: line 1: oops"},
		{"mesh.seeds[0]", `must be host:port; got "x"`},
	}
	want := "invalid YAML: line 1: oops\nmesh.seeds[0]: must be host:port; got \"x\""
	if got := ps.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestProblemsAs(t *testing.T) {
	var err error = fmt.Errorf("invalid config x.yaml:\n%w", Problems{{"node.region", "required"}})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "node.region" {
		t.Fatalf("errors.As through a wrapper = %v", ps)
	}
	if !errors.As(err, &Problems{}) {
		t.Fatal("errors.As(err, &Problems{}) is false")
	}
}

func TestNoProblemsIsNilError(t *testing.T) {
	if err := Problems(nil).err(); err != nil {
		t.Fatalf("err() of no problems = %#v, want nil", err)
	}
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() of a valid config = %#v", err)
	}
}

func TestProblemsSort(t *testing.T) {
	ps := Problems{
		{"zzz", "unknown 1"},
		{"log.level", "a"},
		{"mesh.seeds[10]", "a"},
		{"mesh.seeds[2] (from RELAYMESH_MESH_SEEDS)", "a"},
		{"mesh.seeds", "a"},
		{`mesh["a b"]`, "a"},
		{"mesh.listen", "a"},
		{"node.region", "first"},
		{"node.region", "second"},
		{"", "file"},
		{"aaa", "unknown 2"},
		{"node.name", "a"},
	}
	ps.sort()
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		"file",
		"node.name: a",
		"node.region: first",
		"node.region: second",
		"mesh.listen: a",
		"mesh.seeds: a",
		"mesh.seeds[2] (from RELAYMESH_MESH_SEEDS): a",
		"mesh.seeds[10]: a",
		`mesh["a b"]: a`,
		"log.level: a",
		"zzz: unknown 1",
		"aaa: unknown 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sorted:\n%q\nwant:\n%q", got, want)
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct{ parent, key, want string }{
		{"", "node", "node"},
		{"node", "name", "node.name"},
		{"mesh", "data-dir", "mesh.data-dir"},
		{"mesh", "a.b", `mesh["a.b"]`},
		{"", "", `[""]`},
		{"node", "<<", `node["<<"]`},
	}
	for _, tt := range tests {
		if got := joinPath(tt.parent, tt.key); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.parent, tt.key, got, tt.want)
		}
	}
}
