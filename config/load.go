package config

import (
	"fmt"
	"os"
)

// Parse decodes a node config from YAML, on top of Defaults, and validates
// it. Decoding is strict: unknown and duplicate keys, values of the wrong
// type or shape and extra YAML documents are problems, and every problem is
// reported (as Problems, with field paths), not just the first. An empty
// document yields the defaults, which then fail validation for the required
// fields.
//
// On error the config is nil: a half-applied config is never returned.
func Parse(data []byte) (*Config, error) {
	return build(data, nil)
}

// Load reads the config file at path, applies the environment overrides found
// through getenv (os.Getenv in the binary; nil for none) and validates the
// result once. Precedence is defaults < file < environment. The overrides are
// for what ops set per host:
//
//	RELAYMESH_NODE_NAME       node.name
//	RELAYMESH_NODE_REGION     node.region
//	RELAYMESH_DATA_DIR        node.data_dir
//	RELAYMESH_HTTP_ADVERTISE  http.advertise
//	RELAYMESH_MESH_ADVERTISE  mesh.advertise
//	RELAYMESH_MESH_SEEDS      mesh.seeds, comma-separated; replaces the file's list
//
// Problems with a value from the environment name the variable in their path,
// e.g. "mesh.seeds[0] (from RELAYMESH_MESH_SEEDS)". The error wraps Problems
// and starts with the file's path.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := build(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("invalid config %s:\n%w", path, err)
	}
	return c, nil
}

// build is Parse and Load after the file is read: defaults, then the file,
// then the environment, then one validation.
func build(data []byte, getenv func(string) string) (*Config, error) {
	c := Defaults()
	file := decodeFile(data, &c)
	if file.syntax {
		return nil, file.problems
	}
	src, ps := applyEnv(&c, getenv)
	ps = append(ps, file.problems...)
	for _, p := range c.validate() {
		if annotated := src.annotate(p.Path); annotated != p.Path {
			p.Path = annotated
		} else if file.failedAt(p.Path) {
			// The file's value was reported as unusable already; the
			// default left in its place would only add a confusing second
			// problem.
			continue
		}
		ps = append(ps, p)
	}
	ps.sort()
	if len(ps) > 0 {
		return nil, ps
	}
	return &c, nil
}
