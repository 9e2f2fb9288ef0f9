package terraform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/relaymesh/relaymesh/config"
)

// CI check 2: apply the provider-free edge-config module for real (local
// state in a temp dir) with the region map of the AWS stack, then give every
// rendered node config to the binary's own validation (`relaymesh config
// check`) and compare the Terraform ports with the binary's defaults. A change
// of the config format or of a default port in Go that Terraform does not
// follow fails here.

// renderedNode is what the test expects of one node: derived from the root
// stack's default region map, two nodes per region.
type renderedNode struct {
	name, region, awsRegion, address string
}

// edgeConfigOutputs is the part of `terraform output -json` the test reads.
type edgeConfigOutputs struct {
	Ports struct {
		Value map[string]int `json:"value"`
	} `json:"ports"`
	Nodes struct {
		Value map[string]struct {
			Region    string `json:"region"`
			AWSRegion string `json:"aws_region"`
		} `json:"value"`
	} `json:"nodes"`
	MeshSeeds struct {
		Value []string `json:"value"`
	} `json:"mesh_seeds"`
	NodeConfigs struct {
		Value map[string]string `json:"value"`
	} `json:"node_configs"`
	CloudInit struct {
		Value map[string]string `json:"value"`
	} `json:"cloud_init"`
}

// cloudConfig is the part of a cloud-init document the test reads.
type cloudConfig struct {
	WriteFiles []struct {
		Path        string `yaml:"path"`
		Permissions string `yaml:"permissions"`
		Content     string `yaml:"content"`
	} `yaml:"write_files"`
	RunCmd [][]string `yaml:"runcmd"`
}

func TestEdgeConfigRendersConfigsTheBinaryAccepts(t *testing.T) {
	tf := terraformPath(t)
	work := t.TempDir()
	nodes := expectedNodes(t)
	out := applyEdgeConfig(t, tf, work, nodes)
	bin := buildRelaymesh(t, work)

	t.Run("ports equal the binary defaults", func(t *testing.T) {
		want := map[string]int{"http": config.DefaultHTTPPort, "mesh": config.DefaultMeshPort}
		if !maps.Equal(out.Ports.Value, want) {
			t.Fatalf("edge-config ports = %v, the binary listens on %v (config.DefaultHTTPPort, config.DefaultMeshPort): update local.ports in %s/main.tf", out.Ports.Value, want, edgeConfigDir)
		}
	})

	t.Run("one config and one cloud-init per node", func(t *testing.T) {
		var want []string
		for _, n := range nodes {
			want = append(want, n.name)
		}
		for what, got := range map[string][]string{
			"nodes":        sortedKeys(out.Nodes.Value),
			"node_configs": sortedKeys(out.NodeConfigs.Value),
			"cloud_init":   sortedKeys(out.CloudInit.Value),
		} {
			if !slices.Equal(got, want) {
				t.Errorf("output %s has nodes %v, want %v", what, got, want)
			}
		}
	})

	for _, n := range nodes {
		t.Run(n.name, func(t *testing.T) {
			doc, ok := out.NodeConfigs.Value[n.name]
			if !ok {
				t.Fatalf("no rendered config for %s", n.name)
			}
			path := filepath.Join(work, "configs", n.name+".yaml")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}

			// The binary's verdict, exactly as the bootstrap script asks it.
			check := exec.CommandContext(t.Context(), bin, "config", "check", "--no-env", path)
			if msg, err := check.CombinedOutput(); err != nil {
				t.Fatalf("relaymesh config check rejects the config Terraform rendered for %s: %v\n%s\n--- config ---\n%s", n.name, err, msg, doc)
			}

			// What the node will run with.
			c, err := config.Load(path, nil)
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			meshAddr := net.JoinHostPort(n.address, strconv.Itoa(config.DefaultMeshPort))
			httpAddr := net.JoinHostPort(n.address, strconv.Itoa(config.DefaultHTTPPort))
			for _, f := range []struct{ field, got, want string }{
				{"node.name", c.Node.Name, n.name},
				{"node.region", c.Node.Region, n.region},
				{"http.listen", c.HTTP.Listen, ":" + strconv.Itoa(config.DefaultHTTPPort)},
				{"mesh.listen", c.Mesh.Listen, ":" + strconv.Itoa(config.DefaultMeshPort)},
				{"mesh advertise", c.MeshAdvertise(), meshAddr},
				{"http advertise", c.HTTPAdvertise(), httpAddr},
				{"tls.cert_file", filepath.Base(c.TLS.CertFile), n.name + ".pem"},
				{"tls.key_file", filepath.Base(c.TLS.KeyFile), n.name + "-key.pem"},
				{"tls.ca_file", filepath.Base(c.TLS.CAFile), "ca.pem"},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
				}
			}
			if len(c.Mesh.Seeds) != len(nodes) || !slices.Contains(c.Mesh.Seeds, meshAddr) {
				t.Errorf("mesh.seeds = %v, want every node's mesh address (%d), this node's (%s) included", c.Mesh.Seeds, len(nodes), meshAddr)
			}
			if !c.Origin.UseTLS || c.Origin.AccessKey != "" || c.Origin.SecretKey != "" {
				t.Errorf("origin must use TLS and the instance role (no keys); got use_tls=%v access_key set=%v", c.Origin.UseTLS, c.Origin.AccessKey != "")
			}

			checkCloudInit(t, out.CloudInit.Value[n.name], doc, n)
		})
	}

	t.Run("certificate files match the config", func(t *testing.T) {
		// The bootstrap script issues the node certificate with
		// `relaymesh certs node --ca DIR --name NODE --out TLSDIR` and copies
		// DIR/ca.pem beside it; the config must name the files that writes.
		n := nodes[0]
		caDir, tlsDir := filepath.Join(work, "ca"), filepath.Join(work, "tls")
		for _, args := range [][]string{
			{"certs", "ca", "--out", caDir},
			{"certs", "node", "--ca", caDir, "--name", n.name, "--host", n.address, "--out", tlsDir},
		} {
			if msg, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("relaymesh %v: %v\n%s", args, err, msg)
			}
		}
		c, err := config.Load(filepath.Join(work, "configs", n.name+".yaml"), nil)
		if err != nil {
			t.Fatalf("config.Load: %v", err)
		}
		for _, f := range []struct{ field, path string }{
			{"tls.cert_file", filepath.Join(tlsDir, filepath.Base(c.TLS.CertFile))},
			{"tls.key_file", filepath.Join(tlsDir, filepath.Base(c.TLS.KeyFile))},
			{"tls.ca_file", filepath.Join(caDir, filepath.Base(c.TLS.CAFile))},
		} {
			if _, err := os.Stat(f.path); err != nil {
				t.Errorf("%s names a file `relaymesh certs` does not write: %v", f.field, err)
			}
		}
	})
}

// checkCloudInit asserts a node's user data: a #cloud-config that writes
// exactly the rendered config, a bootstrap script bash can parse, and that
// script run at first boot.
func checkCloudInit(t *testing.T, userData, nodeConfig string, n renderedNode) {
	t.Helper()
	if !strings.HasPrefix(userData, "#cloud-config\n") {
		t.Fatalf("cloud-init of %s does not start with #cloud-config", n.name)
	}
	var cc cloudConfig
	if err := yaml.Unmarshal([]byte(userData), &cc); err != nil {
		t.Fatalf("cloud-init of %s is not YAML: %v", n.name, err)
	}
	files := map[string]string{}
	for _, f := range cc.WriteFiles {
		files[f.Path] = f.Content
	}
	if got := files["/etc/relaymesh/relaymesh.yaml"]; got != nodeConfig {
		t.Errorf("cloud-init writes a config different from node_configs[%q]:\n%s", n.name, got)
	}
	script, ok := files["/usr/local/sbin/relaymesh-bootstrap"]
	if !ok {
		t.Fatalf("cloud-init of %s writes no bootstrap script", n.name)
	}
	path := filepath.Join(t.TempDir(), "bootstrap.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.CommandContext(t.Context(), "bash", "-n", path).CombinedOutput(); err != nil {
		t.Errorf("bootstrap script of %s does not parse: %v\n%s", n.name, err, msg)
	}
	for _, want := range []string{
		fmt.Sprintf("readonly aws_region='%s'", n.awsRegion),
		fmt.Sprintf("readonly advertise_host='%s'", n.address),
		"relaymesh config check --no-env",
		"systemctl enable --now relaymesh.service",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("bootstrap script of %s lacks %q", n.name, want)
		}
	}
	if len(cc.RunCmd) != 1 || !slices.Equal(cc.RunCmd[0], []string{"/usr/local/sbin/relaymesh-bootstrap"}) {
		t.Errorf("cloud-init runcmd = %v, want the bootstrap script", cc.RunCmd)
	}
}

// expectedNodes takes the region map the AWS stack deploys by default (the
// root module's var.regions) and names two nodes per region, each with a
// distinct documentation address (RFC 5737).
func expectedNodes(t *testing.T) []renderedNode {
	t.Helper()
	root := loadModule(t, rootDir)
	regionsVar, ok := root.meta.Variables["regions"]
	if !ok {
		t.Fatalf("root module has no variable \"regions\"")
	}
	defaults, ok := regionsVar.Default.(map[string]any)
	if !ok || len(defaults) == 0 {
		t.Fatalf("root variable regions has no map default: %#v", regionsVar.Default)
	}
	var nodes []renderedNode
	for i, region := range sortedKeys(defaults) {
		r, _ := defaults[region].(map[string]any)
		awsRegion, _ := r["aws_region"].(string)
		for n := 1; n <= 2; n++ {
			nodes = append(nodes, renderedNode{
				name:      fmt.Sprintf("%s-%d", region, n),
				region:    region,
				awsRegion: awsRegion,
				address:   fmt.Sprintf("203.0.113.%d", 10*(i+1)+n),
			})
		}
	}
	return nodes
}

// applyEdgeConfig copies edge-config into work, applies it with local state
// and returns its outputs.
func applyEdgeConfig(t *testing.T, tf, work string, nodes []renderedNode) edgeConfigOutputs {
	t.Helper()
	module := filepath.Join(work, "edge-config")
	copyModule(t, edgeConfigDir, module)

	regions := map[string]any{}
	addresses := map[string]string{}
	for _, n := range nodes {
		regions[n.region] = map[string]any{"aws_region": n.awsRegion, "node_count": 2}
		addresses[n.name] = n.address
	}
	vars, err := json.MarshalIndent(map[string]any{
		"regions":        regions,
		"node_addresses": addresses,
		"origin":         map[string]any{"bucket": "relaymesh-origin-ci", "region": "ap-northeast-2"},
		"release": map[string]any{
			"url":    "https://releases.example.com/relaymesh/relaymesh-linux-amd64",
			"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	varFile := filepath.Join(work, "ci.tfvars.json")
	if err := os.WriteFile(varFile, vars, 0o644); err != nil {
		t.Fatal(err)
	}

	env, err := terraformEnv(filepath.Join(work, "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), tf, append([]string{"-chdir=" + module}, args...)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("terraform %v: %v\n%s%s", args, err, stdout, stderr.Bytes())
		}
		return stdout
	}
	run("init", "-backend=false", "-input=false", "-no-color")
	run("apply", "-auto-approve", "-input=false", "-no-color", "-var-file="+varFile)
	if _, err := os.Stat(filepath.Join(module, "terraform.tfstate")); err != nil {
		t.Fatalf("apply left no local state: %v", err)
	}

	var out edgeConfigOutputs
	if err := json.Unmarshal(run("output", "-json", "-no-color"), &out); err != nil {
		t.Fatalf("terraform output -json: %v", err)
	}
	return out
}

// buildRelaymesh builds the binary under test into dir.
func buildRelaymesh(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build relaymesh: %v", err)
	}
	bin := filepath.Join(dir, "relaymesh")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "github.com/relaymesh/relaymesh/cmd/relaymesh")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/relaymesh: %v\n%s", err, msg)
	}
	return bin
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
