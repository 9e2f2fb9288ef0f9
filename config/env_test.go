package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// minimalYAML is a valid file for the env tests to override.
const minimalYAML = `
node: {name: file-node, region: seoul}
mesh: {advertise: "10.0.0.1:7946", seeds: ["file-seed:7946"]}
origin: {endpoint: s3.example.com, bucket: relaymesh-test}
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "relaymesh.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvOverrides(t *testing.T) {
	path := writeFile(t, minimalYAML)
	c, err := Load(path, envMap(map[string]string{
		"RELAYMESH_NODE_NAME":      "env-node",
		"RELAYMESH_NODE_REGION":    "frankfurt",
		"RELAYMESH_DATA_DIR":       "/data",
		"RELAYMESH_HTTP_ADVERTISE": "edge.example.com:443",
		"RELAYMESH_MESH_ADVERTISE": " 192.0.2.7:7946\n", // as from $(cat file)
		"RELAYMESH_MESH_SEEDS":     "a.example.com:7946, b.example.com:7946,",
		"RELAYMESH_UNRELATED":      "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := validConfig()
	want.Node = Node{Name: "env-node", Region: "frankfurt", DataDir: "/data"}
	want.HTTP.Advertise = "edge.example.com:443"
	want.Mesh.Advertise = "192.0.2.7:7946"
	want.Mesh.Seeds = []string{"a.example.com:7946", "b.example.com:7946"}
	if !equalConfig(*c, want) {
		t.Errorf("Load with env =\n%+v\nwant\n%+v", *c, want)
	}
}

func TestEnvEmptyMeansUnset(t *testing.T) {
	path := writeFile(t, minimalYAML)
	c, err := Load(path, envMap(map[string]string{"RELAYMESH_NODE_NAME": "", "RELAYMESH_MESH_SEEDS": "  "}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.Name != "file-node" || !slices.Equal(c.Mesh.Seeds, []string{"file-seed:7946"}) {
		t.Errorf("empty variables changed the config: name %q, seeds %q", c.Node.Name, c.Mesh.Seeds)
	}
}

// TestEnvSuppliesRequiredAdvertise: the file may leave mesh.advertise to the
// environment, the usual setup when one file serves all hosts of a region.
func TestEnvSuppliesRequiredAdvertise(t *testing.T) {
	path := writeFile(t, strings.Replace(minimalYAML, `advertise: "10.0.0.1:7946", `, "", 1))
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "mesh.advertise: required") {
		t.Fatalf("without env: err = %v, want mesh.advertise required", err)
	}
	if _, err := Load(path, envMap(map[string]string{"RELAYMESH_MESH_ADVERTISE": "10.0.0.9:7946"})); err != nil {
		t.Fatalf("with RELAYMESH_MESH_ADVERTISE: %v", err)
	}
}

func TestEnvProblemsNameTheVariable(t *testing.T) {
	path := writeFile(t, minimalYAML)
	tests := []struct {
		name string
		env  map[string]string
		want Problems
	}{
		{"bad seed", map[string]string{"RELAYMESH_MESH_SEEDS": "good:1,bad"}, Problems{
			{"mesh.seeds[1] (from RELAYMESH_MESH_SEEDS)", `must be host:port (missing port in address); got "bad"`},
		}},
		{"no seed at all", map[string]string{"RELAYMESH_MESH_SEEDS": ", ,"}, Problems{
			{"mesh.seeds (from RELAYMESH_MESH_SEEDS)", `must list at least one host:port; got ", ,"`},
		}},
		{"bad region and name", map[string]string{"RELAYMESH_NODE_REGION": "paris", "RELAYMESH_NODE_NAME": "Node_1"}, Problems{
			{"node.name (from RELAYMESH_NODE_NAME)", `must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got "Node_1"`},
			{"node.region (from RELAYMESH_NODE_REGION)", `must be one of seoul, tokyo, virginia, frankfurt; got "paris"`},
		}},
		{"bad advertise", map[string]string{"RELAYMESH_MESH_ADVERTISE": "0.0.0.0:7946", "RELAYMESH_HTTP_ADVERTISE": "x"}, Problems{
			{"http.advertise (from RELAYMESH_HTTP_ADVERTISE)", `must be host:port (missing port in address); got "x"`},
			{"mesh.advertise (from RELAYMESH_MESH_ADVERTISE)", `host must be an address others can dial, not empty, 0.0.0.0 or ::; got "0.0.0.0:7946"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(path, envMap(tt.env))
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%v\nwant:\n%v", got, tt.want)
			}
		})
	}
}

// TestEnvOverridesBrokenFileValue: a value the file got wrong is still
// reported, and the environment's replacement is validated on its own.
func TestEnvOverridesBrokenFileValue(t *testing.T) {
	path := writeFile(t, strings.Replace(minimalYAML, "seeds: [\"file-seed:7946\"]", "seeds: {a: b}", 1))
	_, err := Load(path, envMap(map[string]string{"RELAYMESH_MESH_SEEDS": "nope"}))
	want := Problems{
		{"mesh.seeds", "expected a list, got a mapping"},
		{"mesh.seeds[0] (from RELAYMESH_MESH_SEEDS)", `must be host:port (missing port in address); got "nope"`},
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%v\nwant:\n%v", got, want)
	}
}

// TestEnvOverridePaths keeps the override table honest: every path it names
// exists in the schema, so problem annotations match real fields.
func TestEnvOverridePaths(t *testing.T) {
	paths := schemaPaths(reflect.TypeFor[Config](), "")
	for _, o := range envOverrides() {
		if !slices.Contains(paths, o.path) {
			t.Errorf("%s overrides %q, which is not a field", o.name, o.path)
		}
		if !strings.HasPrefix(o.name, "RELAYMESH_") {
			t.Errorf("%s lacks the RELAYMESH_ prefix", o.name)
		}
	}
}
