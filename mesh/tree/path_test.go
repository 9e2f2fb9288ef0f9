package tree

import (
	"slices"
	"testing"
)

func TestPath(t *testing.T) {
	//        tokyo
	//       /     \
	//   seoul    virginia
	//               |
	//           frankfurt
	parents := map[string]string{"tokyo": "", "seoul": "tokyo", "virginia": "tokyo", "frankfurt": "virginia", "lone": ""}
	for _, c := range []struct {
		a, b string
		want []string
	}{
		{"seoul", "frankfurt", []string{"seoul", "tokyo", "virginia", "frankfurt"}},
		{"frankfurt", "seoul", []string{"frankfurt", "virginia", "tokyo", "seoul"}},
		{"frankfurt", "tokyo", []string{"frankfurt", "virginia", "tokyo"}},
		{"tokyo", "frankfurt", []string{"tokyo", "virginia", "frankfurt"}},
		{"seoul", "seoul", []string{"seoul"}},
		{"seoul", "lone", nil},    // another tree
		{"seoul", "nowhere", nil}, // unknown node
	} {
		got, ok := Path(parents, c.a, c.b)
		if !slices.Equal(got, c.want) || ok != (c.want != nil) {
			t.Errorf("Path(%s, %s) = %v, %v; want %v", c.a, c.b, got, ok, c.want)
		}
	}
	if _, ok := Path(map[string]string{"a": "b", "b": "a"}, "a", "b"); ok {
		t.Error("Path through a cycle reported a route")
	}
}
