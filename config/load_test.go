package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load("example.yaml", nil)
	if err != nil {
		t.Fatalf("example.yaml does not load:\n%v", err)
	}
	if c.Node.Region != "seoul" || len(c.Mesh.Seeds) != 3 {
		t.Errorf("example.yaml is not the Seoul node of a 4-region cluster: region %q, seeds %q", c.Node.Region, c.Mesh.Seeds)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("example.yaml has warnings:\n%v", w)
	}
}

// TestExampleHasEveryField keeps example.yaml complete and documented: every
// field of Config appears in it, each with a comment of its own.
func TestExampleHasEveryField(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(prefix, k.Value)
			found[p] = true
			if strings.TrimSpace(k.HeadComment+k.LineComment) == "" {
				t.Errorf("example.yaml: %s has no comment", p)
			}
			if v.Kind == yaml.MappingNode && p != "ingest.stream_keys" { // a map's entries are data, not fields
				walk(v, p)
			}
		}
	}
	walk(doc.Content[0], "")
	for _, p := range schemaPaths(reflect.TypeFor[Config](), "") {
		if !found[p] {
			t.Errorf("example.yaml lacks %s", p)
		}
	}
}

// TestThreeMistakes is the promise of strict decoding plus validation: one
// run reports every mistake, each at its field path.
func TestThreeMistakes(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "three_mistakes.yaml"), nil)
	if err == nil {
		t.Fatal("Load accepted a file with three mistakes")
	}
	ps := problemsOf(t, err)
	want := map[string]string{
		"mesh.sedes":          `unknown field (did you mean "seeds"?)`,
		"mesh.probe_interval": `cannot parse "fast" as a duration`,
		"node.region":         `got "mars"`,
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for path, msg := range want {
		i := slices.IndexFunc(ps, func(p Problem) bool { return p.Path == path })
		if i < 0 {
			t.Errorf("no problem reported at %s:\n%v", path, ps)
		} else if !strings.Contains(ps[i].Message, msg) {
			t.Errorf("%s: message %q lacks %q", path, ps[i].Message, msg)
		}
	}
	if !strings.HasPrefix(err.Error(), "invalid config testdata/three_mistakes.yaml:\n") {
		t.Errorf("error does not start with the file's path:\n%v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if errors.As(err, &Problems{}) {
		t.Error("a read error is not a config problem")
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, nil); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Load(dir) = %v, want an error naming %s", err, dir)
	}
}

func TestParseReturnsNilConfigOnError(t *testing.T) {
	c, err := Parse([]byte("node: {region: mars}"))
	if err == nil || c != nil {
		t.Fatalf("Parse = %v, %v; want nil config and an error", c, err)
	}
}

// TestParseValidationSkipsFailedValues: a value the file got wrong is
// reported once, not again by validation of the default left in its place.
func TestParseValidationSkipsFailedValues(t *testing.T) {
	in := `
node: {name: test-1, region: seoul}
mesh: {advertise: "10.0.0.1:7946", seeds: ["a:1", [x]], probe_timeout: 2}
origin: {endpoint: s3.example.com, bucket: relaymesh-test}
`
	_, err := Parse([]byte(in))
	want := Problems{
		{"mesh.seeds[1]", "expected a string, got a list"},
		{"mesh.probe_timeout", `cannot parse "2" as a duration (missing unit, e.g. "2ms" or "2s")`},
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%v\nwant:\n%v", got, want)
	}
}
