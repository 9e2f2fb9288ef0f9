package config

import (
	"fmt"
	"strings"
)

// envOverride is one environment variable that overrides one field. Only what
// ops set per host is overridable (identity and addresses); everything else
// belongs in the file, where it is reviewed and versioned.
type envOverride struct {
	name  string // environment variable
	path  string // field path it sets, for problem reports
	apply func(c *Config, value string) Problems
}

// envOverrides lists the overrides in schema order. A function rather than a
// package variable, so the table cannot be changed at run time.
func envOverrides() []envOverride {
	return []envOverride{
		{"RELAYMESH_NODE_NAME", "node.name", func(c *Config, v string) Problems { c.Node.Name = v; return nil }},
		{"RELAYMESH_NODE_REGION", "node.region", func(c *Config, v string) Problems { c.Node.Region = v; return nil }},
		{"RELAYMESH_DATA_DIR", "node.data_dir", func(c *Config, v string) Problems { c.Node.DataDir = v; return nil }},
		{"RELAYMESH_HTTP_ADVERTISE", "http.advertise", func(c *Config, v string) Problems { c.HTTP.Advertise = v; return nil }},
		{"RELAYMESH_MESH_ADVERTISE", "mesh.advertise", func(c *Config, v string) Problems { c.Mesh.Advertise = v; return nil }},
		{"RELAYMESH_MESH_SEEDS", "mesh.seeds", applySeeds},
	}
}

// applySeeds replaces (never extends) the file's seeds with a comma-separated
// list. Blanks around entries and empty entries (a trailing comma) are
// ignored, but a value with no address at all is a problem: silently starting
// a new cluster instead of joining one would split the mesh.
func applySeeds(c *Config, v string) Problems {
	var seeds []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		return Problems{{Path: "mesh.seeds", Message: fmt.Sprintf("must list at least one host:port; got %q", v)}}
	}
	c.Mesh.Seeds = seeds
	return nil
}

// envSources records which field paths the environment set, and from which
// variable, so problems about those values can say where they came from.
type envSources map[string]string // field path -> variable

// applyEnv applies the overrides found through getenv (nil means no
// environment, which keeps tests hermetic) to c. An empty variable counts as
// unset: getenv cannot tell the two apart, and "set but empty" is usually a
// templating accident rather than a wish to clear a field. Values are
// trimmed, so a trailing newline from $(cat file) does no harm.
func applyEnv(c *Config, getenv func(string) string) (envSources, Problems) {
	src := envSources{}
	if getenv == nil {
		return src, nil
	}
	var ps Problems
	for _, o := range envOverrides() {
		v := strings.TrimSpace(getenv(o.name))
		if v == "" {
			continue
		}
		src[o.path] = o.name
		ps = append(ps, o.apply(c, v)...)
	}
	for i := range ps {
		ps[i].Path = src.annotate(ps[i].Path)
	}
	return src, ps
}

// annotate appends " (from VAR)" to a path the environment set, or to a path
// inside one (mesh.seeds[0] is inside mesh.seeds).
func (s envSources) annotate(path string) string {
	for p, name := range s {
		if under(path, p) {
			return path + " (from " + name + ")"
		}
	}
	return path
}
