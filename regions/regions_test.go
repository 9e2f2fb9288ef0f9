package regions

import (
	"slices"
	"testing"
)

func TestAllFixedOrder(t *testing.T) {
	want := []Region{
		{"seoul", "ap-northeast-2", "Seoul", 37.5665, 126.9780},
		{"tokyo", "ap-northeast-1", "Tokyo", 35.6762, 139.6503},
		{"virginia", "us-east-1", "Ashburn, N. Virginia", 39.0438, -77.4874},
		{"frankfurt", "eu-central-1", "Frankfurt", 50.1109, 8.6821},
	}
	if got := All(); !slices.Equal(got, want) {
		t.Fatalf("All() = %v, want %v", got, want)
	}
	if got, want := Names(), []string{"seoul", "tokyo", "virginia", "frankfurt"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
}

func TestAllReturnsCopy(t *testing.T) {
	a := All()
	a[0].Name = "mutated"
	if All()[0].Name != "seoul" {
		t.Fatal("mutating the result of All changed the catalog")
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name     string
		wantCode string
		wantOK   bool
	}{
		{"seoul", "ap-northeast-2", true},
		{"tokyo", "ap-northeast-1", true},
		{"virginia", "us-east-1", true},
		{"frankfurt", "eu-central-1", true},
		{"Seoul", "", false}, // exact match only
		{"", "", false},
		{"us-east-1", "", false}, // a code is not a name
	}
	for _, tt := range tests {
		r, ok := Lookup(tt.name)
		if ok != tt.wantOK || r.Code != tt.wantCode {
			t.Errorf("Lookup(%q) = %+v, %v; want code %q, %v", tt.name, r, ok, tt.wantCode, tt.wantOK)
		}
	}
}

func TestByCode(t *testing.T) {
	tests := []struct {
		code     string
		wantName string
		wantOK   bool
	}{
		{"ap-northeast-2", "seoul", true},
		{"ap-northeast-1", "tokyo", true},
		{"us-east-1", "virginia", true},
		{"eu-central-1", "frankfurt", true},
		{"us-west-2", "", false},
		{"seoul", "", false},
	}
	for _, tt := range tests {
		r, ok := ByCode(tt.code)
		if ok != tt.wantOK || r.Name != tt.wantName {
			t.Errorf("ByCode(%q) = %+v, %v; want name %q, %v", tt.code, r, ok, tt.wantName, tt.wantOK)
		}
	}
}
