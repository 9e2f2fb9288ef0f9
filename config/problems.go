package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration: the field path it is about
// (e.g. "mesh.seeds[0]", with " (from RELAYMESH_MESH_SEEDS)" appended when the
// value came from the environment; empty for the file as a whole) and what is
// wrong, with the bad value quoted.
type Problem struct {
	Path    string
	Message string
}

// String renders the problem as "path: message", or just the message when it
// concerns the whole file.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem found in a configuration. Parse, Load and Validate
// return it as their error, so callers can list problems one by one:
//
//	var ps config.Problems
//	if errors.As(err, &ps) { ... }
//
// It is sorted by field path in schema order (the order of types.go and of
// example.yaml), so the same input always gives the same report.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// add appends a problem; the message is a format string so bad values can be
// quoted with %q.
func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns ps as an error, or a nil error (not a nil Problems inside a
// non-nil interface) when there are none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// sort orders problems by path in schema order. Problems the schema cannot
// order (unknown keys of one mapping, several problems of one field) keep
// the order they were found in, which is file order for the file's problems.
func (ps Problems) sort() {
	keys := make(map[string][]int, len(ps))
	for _, p := range ps {
		if _, ok := keys[p.Path]; !ok {
			keys[p.Path] = schemaOrder(p.Path)
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return slices.Compare(keys[a.Path], keys[b.Path])
	})
}

// unknownRank sorts fields missing from the schema (typos) after the known
// fields of their mapping.
const unknownRank = 1 << 30

// schemaOrder turns a path such as "mesh.seeds[2] (from ...)" into the field
// and element indexes it names, e.g. [2 2 2]: Mesh is Config's third field,
// Seeds the Mesh's third, then element 2.
func schemaOrder(path string) []int {
	path, _, _ = strings.Cut(path, " (from ")
	t := reflect.TypeFor[Config]()
	var key []int
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			if q, err := strconv.QuotedPrefix(path[1:]); err == nil { // an odd unknown key
				key, t = append(key, unknownRank), nil
				path = strings.TrimPrefix(path[1+len(q):], "]")
				continue
			}
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(key, unknownRank)
			}
			n, err := strconv.Atoi(path[1:end])
			if err != nil {
				n = unknownRank
			}
			key = append(key, n)
			if t != nil && t.Kind() == reflect.Slice {
				t = t.Elem()
			} else {
				t = nil
			}
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			i, ok := -1, false
			if t != nil && t.Kind() == reflect.Struct {
				i, ok = fieldIndex(t, path[:end])
			}
			if ok {
				key, t = append(key, i), t.Field(i).Type
			} else {
				key, t = append(key, unknownRank), nil
			}
			path = path[end:]
		}
	}
	return key
}

// fieldIndex finds the struct field with the given yaml key.
func fieldIndex(t reflect.Type, key string) (int, bool) {
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == key {
			return i, true
		}
	}
	return 0, false
}

// yamlKey is the key a struct field has in the file: the name in its yaml tag.
func yamlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// joinPath appends a mapping key to a path. Keys that are not plain
// identifiers (typos can hold anything) are quoted in brackets so the path
// stays unambiguous.
func joinPath(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// indexPath appends a list index to a path.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// under reports whether path is p itself or a field or element inside it.
func under(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}
