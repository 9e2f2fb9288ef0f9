package config

import (
	"fmt"
	"reflect"
	"strings"
)

// suggestion returns a " (did you mean ...?)" hint for an unknown key found in
// the mapping at path whose struct type is t, or "" when nothing is close.
// It looks, in turn, for a near-miss among the mapping's own fields (a typo),
// for the one field the key abbreviates ("secret" for "secret_key"), and for
// the key in another section (a field written in the wrong place, e.g.
// "seeds" at the top level, or "loglevel" for log.level).
func suggestion(key, path string, t reflect.Type) string {
	norm := normalizeKey(key)
	best, bestDist := "", -1
	var prefixed []string
	for i := range t.NumField() {
		name := yamlKey(t.Field(i))
		d := editDistance(norm, normalizeKey(name))
		if d <= max(1, len(name)/3) && (bestDist < 0 || d < bestDist) {
			best, bestDist = name, d
		}
		if len(norm) >= 3 && strings.HasPrefix(name, norm) {
			prefixed = append(prefixed, name)
		}
	}
	if best == "" && len(prefixed) == 1 {
		best = prefixed[0]
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	var elsewhere []string
	for _, p := range schemaPaths(reflect.TypeFor[Config](), "") {
		parent, name := splitLast(p)
		if parent == path || (normalizeKey(name) != norm && squash(p) != squash(key)) {
			continue
		}
		if parent == "" {
			elsewhere = append(elsewhere, fmt.Sprintf("%q at the top level", p))
		} else {
			elsewhere = append(elsewhere, fmt.Sprintf("%q", p))
		}
	}
	if len(elsewhere) == 0 {
		return ""
	}
	return " (did you mean " + strings.Join(elsewhere, " or ") + "?)"
}

// squash drops case and separators, so "loglevel" and "LOG_LEVEL" both
// match the path "log.level".
func squash(s string) string {
	return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(s))
}

// normalizeKey folds the spellings people carry over from other formats
// (dataDir, data-dir, DATA_DIR) onto the file's snake_case.
func normalizeKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "-", "_")
}

// schemaPaths lists the paths of every field under the struct type t.
func schemaPaths(t reflect.Type, prefix string) []string {
	var paths []string
	for i := range t.NumField() {
		f := t.Field(i)
		p := joinPath(prefix, yamlKey(f))
		paths = append(paths, p)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			paths = append(paths, schemaPaths(f.Type, p)...)
		}
	}
	return paths
}

// splitLast splits "mesh.seeds" into "mesh" and "seeds".
func splitLast(p string) (parent, name string) {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// editDistance is the optimal string alignment distance: Levenshtein plus
// transposition of adjacent characters, the most common typo ("sedes").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows suffice: transposition looks two rows back.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
