package regions

import (
	"math"
	"testing"
	"time"
)

// TestFibreBoundMatchesBrief keeps the coordinates honest: the fibre bound
// computed from them must agree with the brief's independently derived figures.
func TestFibreBoundMatchesBrief(t *testing.T) {
	for _, a := range All() {
		for _, b := range All() {
			if a.Name >= b.Name {
				continue
			}
			t.Run(a.Name+"-"+b.Name, func(t *testing.T) {
				want, err := FibreRTT(a.Name, b.Name)
				if err != nil {
					t.Fatal(err)
				}
				got := FibreBoundRTT(a, b)
				if diff := math.Abs(float64(got-want)) / float64(want); diff > 0.05 {
					t.Errorf("computed %v (%.0f km), brief says %v: off by %.1f%%",
						got, GreatCircleKm(a, b), want, 100*diff)
				}
			})
		}
	}
}

func TestGreatCircleKm(t *testing.T) {
	seoul, _ := Lookup("seoul")
	frankfurt, _ := Lookup("frankfurt")
	tests := []struct {
		name   string
		a, b   Region
		wantKm float64
	}{
		{"same point", seoul, seoul, 0},
		{"symmetric a-b", seoul, frankfurt, 8560},
		{"symmetric b-a", frankfurt, seoul, 8560},
		{"quarter meridian", Region{Lat: 0, Lon: 0}, Region{Lat: 90, Lon: 0}, math.Pi / 2 * earthRadiusKm},
		{"antipodes", Region{Lat: 0, Lon: 0}, Region{Lat: 0, Lon: 180}, math.Pi * earthRadiusKm},
		{"across the antimeridian", Region{Lat: 0, Lon: 179.5}, Region{Lat: 0, Lon: -179.5}, math.Pi / 180 * earthRadiusKm},
	}
	for _, tt := range tests {
		if got := GreatCircleKm(tt.a, tt.b); math.Abs(got-tt.wantKm) > 0.01*tt.wantKm+0.001 {
			t.Errorf("%s: GreatCircleKm = %.1f, want %.1f", tt.name, got, tt.wantKm)
		}
	}
}

func TestFibreBoundRTTUnits(t *testing.T) {
	// A quarter meridian (~10,008 km) at ~199,862 km/s is ~50.1 ms one way.
	got := FibreBoundRTT(Region{Lat: 0, Lon: 0}, Region{Lat: 90, Lon: 0})
	if want := 100150 * time.Microsecond; got < want-100*time.Microsecond || got > want+100*time.Microsecond {
		t.Errorf("FibreBoundRTT over a quarter meridian = %v, want ~%v", got, want)
	}
}

func TestNearest(t *testing.T) {
	tests := []struct {
		place    string
		lat, lon float64
		want     string
	}{
		{"Busan", 35.1796, 129.0756, "seoul"},
		{"Osaka", 34.6937, 135.5023, "tokyo"},
		{"Sapporo", 43.0618, 141.3545, "tokyo"},
		{"New York", 40.7128, -74.0060, "virginia"},
		{"Sao Paulo", -23.5505, -46.6333, "virginia"},
		{"London", 51.5074, -0.1278, "frankfurt"},
		{"Cairo", 30.0444, 31.2357, "frankfurt"},
		{"Mumbai", 19.0760, 72.8777, "seoul"}, // ~5,600 km vs ~6,300 km to Frankfurt: geography, not network
		{"Honolulu", 21.3069, -157.8583, "tokyo"},
		{"Beijing", 39.9042, 116.4074, "seoul"},
		{"exactly Tokyo", 35.6762, 139.6503, "tokyo"},
	}
	for _, tt := range tests {
		if got := Nearest(tt.lat, tt.lon); got.Name != tt.want {
			t.Errorf("Nearest(%s) = %s, want %s", tt.place, got.Name, tt.want)
		}
	}
}
