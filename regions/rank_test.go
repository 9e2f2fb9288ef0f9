package regions

import (
	"slices"
	"testing"
)

func TestRanked(t *testing.T) {
	// Sums of measured RTTs: tokyo 406.2, virginia 411.9, seoul 440.7,
	// frankfurt 547.0.
	var got []string
	for _, r := range Ranked() {
		got = append(got, r.Name)
	}
	if want := []string{"tokyo", "virginia", "seoul", "frankfurt"}; !slices.Equal(got, want) {
		t.Fatalf("Ranked() = %v, want %v", got, want)
	}
}

func TestRank(t *testing.T) {
	tests := []struct {
		name   string
		want   int
		wantOK bool
	}{
		{"tokyo", 0, true},
		{"virginia", 1, true},
		{"seoul", 2, true},
		{"frankfurt", 3, true},
		{"paris", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := Rank(tt.name)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Rank(%q) = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRankTieBreaksByName(t *testing.T) {
	rs := []Region{{Name: "c"}, {Name: "b"}, {Name: "a"}, {Name: "d"}}
	ls := []link{
		{a: "a", b: "b", measured: 10},
		{a: "b", b: "c", measured: 10},
		{a: "c", b: "a", measured: 10}, // a, b, c: 20 each
		{a: "d", b: "a", measured: 1},  // d: 1, a: 21
	}
	var got []string
	for _, r := range rankByCentrality(rs, ls) {
		got = append(got, r.Name)
	}
	if want := []string{"d", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("rankByCentrality = %v, want %v", got, want)
	}
}

// TestRankedLeavesCatalogAlone checks that sorting works on a copy.
func TestRankedLeavesCatalogAlone(t *testing.T) {
	Ranked()
	if All()[0].Name != "seoul" {
		t.Fatal("Ranked reordered the catalog")
	}
}
