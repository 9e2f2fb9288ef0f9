package config

import (
	"reflect"
	"testing"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"seeds", "seeds", 0},
		{"sedes", "seeds", 1}, // transposition
		{"seed", "seeds", 1},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"probe_intervall", "probe_interval", 1},
		{"région", "region", 1}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestSuggestion(t *testing.T) {
	mesh := reflect.TypeFor[Mesh]()
	root := reflect.TypeFor[Config]()
	tests := []struct {
		key, path string
		t         reflect.Type
		want      string
	}{
		{"sedes", "mesh", mesh, ` (did you mean "seeds"?)`},
		{"ProbeInterval", "mesh", mesh, ` (did you mean "probe_interval"?)`},
		{"probe", "mesh", mesh, ""}, // abbreviates two fields: no guess
		{"dead_node", "mesh", mesh, ` (did you mean "dead_node_reclaim"?)`},
		{"region", "mesh", mesh, ` (did you mean "node.region" or "origin.region"?)`},
		{"log", "mesh", mesh, ` (did you mean "log" at the top level?)`},
		{"xyz", "mesh", mesh, ""},
		{"LOG_LEVEL", "", root, ` (did you mean "log.level"?)`},
	}
	for _, tt := range tests {
		if got := suggestion(tt.key, tt.path, tt.t); got != tt.want {
			t.Errorf("suggestion(%q in %q) = %q, want %q", tt.key, tt.path, got, tt.want)
		}
	}
}
