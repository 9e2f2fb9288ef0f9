package config

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Problems
	}{
		{"empty", "", nil},
		{"only comments", "# nothing\n", nil},
		{"null document", "~\n", nil},
		{"trailing separator", "node: {region: seoul}\n---\n", nil},
		{"null section keeps defaults", "mesh:\nnode: ~\n", nil},
		{"unknown field with typo", "mesh:\n  sedes: [a:1]\n", Problems{
			{"mesh.sedes", `unknown field (did you mean "seeds"?)`},
		}},
		{"unknown field, other spelling", "node:\n  dataDir: /x\n  data-dir: /y\n", Problems{
			{"node.dataDir", `unknown field (did you mean "data_dir"?)`},
			{"node.data-dir", `unknown field (did you mean "data_dir"?)`},
		}},
		{"field in the wrong section", "seeds: [a:1]\nregion: seoul\n", Problems{
			{"seeds", `unknown field (did you mean "mesh.seeds"?)`},
			{"region", `unknown field (did you mean "node.region" or "origin.region"?)`},
		}},
		{"unknown field, nothing close", "bogus: 1\n", Problems{
			{"bogus", "unknown field"},
		}},
		{"odd key is quoted", "mesh:\n  \"a b\": 1\n", Problems{
			{`mesh["a b"]`, "unknown field"},
		}},
		{"bad duration", "mesh:\n  probe_interval: fast\n", Problems{
			{"mesh.probe_interval", `cannot parse "fast" as a duration (want a number with a unit, e.g. "500ms", "5s", "1m")`},
		}},
		{"duration without unit", "mesh:\n  probe_interval: 5\n", Problems{
			{"mesh.probe_interval", `cannot parse "5" as a duration (missing unit, e.g. "5ms" or "5s")`},
		}},
		{"bad bool", "origin:\n  use_tls: maybe\n", Problems{
			{"origin.use_tls", `cannot parse "maybe" as a boolean (want true or false)`},
		}},
		{"bad int", "mesh:\n  suspicion_mult: 2.5\n", Problems{
			{"mesh.suspicion_mult", `cannot parse "2.5" as an integer`},
		}},
		{"bad number", "chat:\n  rate_per_second: fast\n", Problems{
			{"chat.rate_per_second", `cannot parse "fast" as a number`},
		}},
		{"list where a number is expected", "chat:\n  rate_per_second: [5]\n", Problems{
			{"chat.rate_per_second", "expected a number, got a list"},
		}},
		{"mapping where a list is expected", "mesh:\n  seeds: {a: b}\n", Problems{
			{"mesh.seeds", "expected a list, got a mapping"},
		}},
		{"string where a list is expected", "mesh:\n  seeds: a:1\n", Problems{
			{"mesh.seeds", `expected a list, got "a:1"`},
		}},
		{"list where a mapping is expected", "node: [a]\n", Problems{
			{"node", "expected a mapping of fields, got a list"},
		}},
		{"scalar where a mapping is expected", "mesh: fast\n", Problems{
			{"mesh", `expected a mapping of fields, got "fast"`},
		}},
		{"list where a string is expected", "node:\n  name: [a]\n", Problems{
			{"node.name", "expected a string, got a list"},
		}},
		{"mapping in a list", "mesh:\n  seeds:\n    - a:1\n    - {b: 2}\n", Problems{
			{"mesh.seeds[1]", "expected a string, got a mapping"},
		}},
		{"top level is a list", "- a\n", Problems{
			{"", "expected a mapping of fields, got a list"},
		}},
		{"duplicate key", "node:\n  name: a\n  name: b\nnode: {}\n", Problems{
			{"node", "duplicate key (first at line 1, again at line 4)"},
			{"node.name", "duplicate key (first at line 2, again at line 3)"},
		}},
		{"two documents", "node: {}\n---\nmesh: {}\n", Problems{
			{"", "found 2 YAML documents (the second starts at line 2); a node config is a single document"},
		}},
		{"merge key", "base: &b {name: x}\nnode:\n  <<: *b\n", Problems{
			{`node["<<"]`, "merge keys are not supported; write the fields out"},
			{"base", "unknown field"},
		}},
		{"syntax error", "node: [\n", Problems{
			{"", "invalid YAML: line 1: did not find expected node content"},
		}},
		{"many at once, sorted by schema", "log: {level: 3}\nzzz: 1\nmesh: {probe_timeout: x, gossip_interval: y}\nnode: {nmae: a}\n", Problems{
			{"node.nmae", `unknown field (did you mean "name"?)`},
			{"mesh.probe_timeout", `cannot parse "x" as a duration (want a number with a unit, e.g. "500ms", "5s", "1m")`},
			{"mesh.gossip_interval", `cannot parse "y" as a duration (want a number with a unit, e.g. "500ms", "5s", "1m")`},
			{"zzz", "unknown field"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			got := decodeFile([]byte(tt.yaml), &c).problems
			got.sort()
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%v\nwant:\n%v", got, tt.want)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	const in = `
node:
  name: edge-7
  region: tokyo
http:
  shutdown_timeout: 1m30s
mesh:
  seeds: ["a:1", "b:2"]
  suspicion_mult: "6"
  wan_emulation: yes
  probe_interval: &pi 2s
  push_pull_interval: *pi
chat:
  rate_per_second: 2.5
  rate_burst: 3
  retention: 48h
origin:
  use_tls: "false"
  access_key: 12345
  secret_key:
`
	c := Defaults()
	if ps := decodeFile([]byte(in), &c).problems; ps != nil {
		t.Fatalf("unexpected problems:\n%v", ps)
	}
	want := Defaults()
	want.Node.Name = "edge-7"
	want.Node.Region = "tokyo"
	want.HTTP.ShutdownTimeout = 90 * time.Second
	want.Mesh.Seeds = []string{"a:1", "b:2"}
	want.Mesh.SuspicionMult = 6
	want.Mesh.WANEmulation = true
	want.Mesh.ProbeInterval = 2 * time.Second
	want.Mesh.PushPullInterval = 2 * time.Second
	want.Chat.RatePerSecond = 2.5
	want.Chat.RateBurst = 3
	want.Chat.Retention = 48 * time.Hour
	want.Origin.UseTLS = false
	want.Origin.AccessKey = "12345"
	if !equalConfig(c, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", c, want)
	}
}

func TestDecodeFloat(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"5", 5, true},
		{"0.5", 0.5, true},
		{"1e3", 1000, true},
		{`"7.5"`, 7.5, true}, // quoted, as for integers
		{"-1", -1, true},     // range is validation's business
		{".inf", math.Inf(1), true},
		{"five", 0, false},
		{"5/s", 0, false},
		{"true", 0, false},
	}
	for _, tt := range tests {
		c := Defaults()
		ps := decodeFile([]byte("chat: {rate_per_second: "+tt.in+"}"), &c).problems
		if (ps == nil) != tt.ok {
			t.Errorf("rate_per_second: %s: problems %v", tt.in, ps)
			continue
		}
		if tt.ok && c.Chat.RatePerSecond != tt.want {
			t.Errorf("rate_per_second: %s = %v, want %v", tt.in, c.Chat.RatePerSecond, tt.want)
		}
	}
}

// TestDecodeSeedsReplaceDefaults checks that a list in the file replaces the
// list it is decoded over rather than extending it.
func TestDecodeSeedsReplaceDefaults(t *testing.T) {
	c := Defaults()
	c.Mesh.Seeds = []string{"old:1", "old:2", "old:3"}
	decodeFile([]byte("mesh: {seeds: [new:1]}"), &c)
	if !slices.Equal(c.Mesh.Seeds, []string{"new:1"}) {
		t.Errorf("seeds = %q, want [new:1]", c.Mesh.Seeds)
	}
}

func equalConfig(a, b Config) bool {
	return reflect.DeepEqual(a, b)
}
