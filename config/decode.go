package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoded is the outcome of decoding one file.
type decoded struct {
	problems Problems
	failed   []string // paths whose value was unusable and kept its default
	syntax   bool     // the YAML did not parse; problems holds that one error
}

// failedAt reports whether path is, or is inside, a value the file got wrong.
func (d *decoded) failedAt(path string) bool {
	for _, f := range d.failed {
		if under(path, f) {
			return true
		}
	}
	return false
}

// decodeFile decodes a YAML node config into cfg, field by field, and returns
// every problem found rather than stopping at the first: unknown keys,
// duplicate keys, wrong kinds and unparsable values, each with its field path.
// Fields the file does not mention (or sets to null) keep the value already in
// cfg, which is how defaults apply.
//
// It walks a yaml.Node against the struct's yaml tags instead of using
// yaml.Unmarshal with KnownFields, because Unmarshal stops at the first type
// error, reports positions but not field paths, and accepts duplicate keys.
//
// A YAML syntax error is the one problem reported alone: past it there is no
// tree to walk, and validating the defaults would only add noise about fields
// the file may well set.
func decodeFile(data []byte, cfg *Config) decoded {
	var d decoded
	docs, err := parseDocuments(data)
	if err != nil {
		d.problems.add("", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		d.syntax = true
		return d
	}
	if len(docs) == 0 {
		return d // empty file: all defaults
	}
	if len(docs) > 1 {
		d.problems.add("", "found %d YAML documents (the second starts at line %d); a node config is a single document",
			len(docs), docs[1].Line)
	}
	d.value(docs[0].Content[0], reflect.ValueOf(cfg).Elem(), "")
	return d
}

// parseDocuments returns the non-empty documents in data. Empty documents
// (a stray "---", a document of only comments or "~") are dropped so a
// trailing separator is not mistaken for a second config.
func parseDocuments(data []byte) (docs []*yaml.Node, err error) {
	// The YAML parser is a large third-party state machine; Parse promises
	// never to panic on any input, so a panic in it becomes a syntax error.
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
			continue
		}
		docs = append(docs, &doc)
	}
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

var durationType = reflect.TypeFor[time.Duration]()

// value decodes node n into v, the field at path.
func (d *decoded) value(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" or "key: null" means "use the default"
	}
	switch {
	case v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType):
		if s, ok := d.scalar(n, path, "a value"); ok {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				d.fail(path, "%v", err)
			}
		}
	case v.Type() == durationType:
		if s, ok := d.scalar(n, path, "a duration"); ok {
			dur, err := time.ParseDuration(s)
			if err != nil {
				d.fail(path, "cannot parse %q as a duration%s", s, durationHint(s))
				return
			}
			v.SetInt(int64(dur))
		}
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, ok := decodeBool(n)
			if !ok {
				d.fail(path, "cannot parse %q as a boolean (want true or false)", s)
				return
			}
			v.SetBool(b)
		}
	case v.Kind() == reflect.Int:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, ok := decodeInt(n)
			if !ok {
				d.fail(path, "cannot parse %q as an integer", s)
				return
			}
			v.SetInt(int64(i))
		}
	case v.Kind() == reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, ok := decodeFloat(n)
			if !ok {
				d.fail(path, "cannot parse %q as a number", s)
				return
			}
			v.SetFloat(f)
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		d.list(n, v, path)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.String:
		d.stringMap(n, v, path)
	default:
		// Only reachable if a field of a type this decoder does not know is
		// added to Config; TestExampleHasEveryField catches that.
		d.fail(path, "internal error: cannot decode into %s", v.Type())
	}
}

// mapping decodes a YAML mapping into the struct v, key by key.
func (d *decoded) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "expected a mapping of fields, got %s", describe(n))
		return
	}
	t := v.Type()
	seen := make(map[string]int, len(n.Content)/2) // key -> line of its first use
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.problems.add(path, "keys must be plain strings, got %s at line %d", describe(k), k.Line)
			continue
		}
		p := joinPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			d.problems.add(p, "merge keys are not supported; write the fields out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problems.add(p, "duplicate key (first at line %d, again at line %d)", first, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fieldIndex(t, k.Value)
		if !ok {
			d.problems.add(p, "unknown field%s", suggestion(k.Value, path, t))
			continue
		}
		d.value(val, v.Field(idx), p)
	}
}

// list decodes a YAML sequence into the string slice v, replacing (not
// extending) any default.
func (d *decoded) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.value(e, s.Index(i), indexPath(path, i))
	}
	v.Set(s)
}

// stringMap decodes a YAML mapping of names to strings into v, replacing
// any default. Entry paths are parent.name.
func (d *decoded) stringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, "expected a mapping of names to values, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.problems.add(path, "keys must be plain strings, got %s at line %d", describe(k), k.Line)
			continue
		}
		p := joinPath(path, k.Value)
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.problems.add(p, "duplicate key at line %d", k.Line)
			continue
		}
		s, ok := d.scalar(resolve(n.Content[i+1]), p, "a string")
		if !ok {
			continue
		}
		m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(s))
	}
	v.Set(m)
}

// fail records a value the file got wrong; the field keeps its default.
func (d *decoded) fail(path, format string, args ...any) {
	d.problems.add(path, format, args...)
	d.failed = append(d.failed, path)
}

// scalar returns the text of a scalar node, or records that a single value
// (want) was expected.
func (d *decoded) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, "expected %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// resolve follows an alias to the node it names. Anchors and aliases are
// allowed for values; the walk stops at the schema's depth, so an alias bomb
// cannot make it expand.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// decodeBool reads a boolean the way YAML does, and also accepts a quoted
// "true": the report would otherwise say it cannot parse "true" as a boolean,
// which reads as nonsense to anyone who does not spot the quotes.
func decodeBool(n *yaml.Node) (bool, bool) {
	var b bool
	if err := n.Decode(&b); err == nil {
		return b, true
	}
	b, err := strconv.ParseBool(n.Value)
	return b, err == nil
}

// decodeInt reads a plain integer, also a quoted one for the same reason as
// decodeBool. It does not use the YAML library's conversion, which silently
// truncates 2.5 to 2.
func decodeInt(n *yaml.Node) (int, bool) {
	if n.ShortTag() == "!!int" {
		var i int
		if err := n.Decode(&i); err == nil {
			return i, true
		}
	}
	i, err := strconv.Atoi(n.Value)
	return i, err == nil
}

// decodeFloat reads a number (an integer is fine), also a quoted one for the
// same reason as decodeBool. Whether the value is in range (finite, positive)
// is for validation to say.
func decodeFloat(n *yaml.Node) (float64, bool) {
	if tag := n.ShortTag(); tag == "!!float" || tag == "!!int" {
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, true
		}
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	return f, err == nil
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	default:
		return "an alias"
	}
}

// durationHint explains the most common mistake, a bare number.
func durationHint(s string) string {
	if _, err := time.ParseDuration(s + "s"); err == nil {
		return fmt.Sprintf(" (missing unit, e.g. %q or %q)", s+"ms", s+"s")
	}
	return ` (want a number with a unit, e.g. "500ms", "5s", "1m")`
}
