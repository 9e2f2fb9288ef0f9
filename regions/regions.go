// Package regions is the catalog of the four regions relaymesh is deployed in
// and the latency model between them. It is pure code with no I/O, so the mesh,
// the config validator, the WAN emulator and the Terraform tests can all share
// one source of truth for names, cloud codes, coordinates and distances.
package regions

import "slices"

// Region is one deployment region: the name used in configs, metrics and node
// metadata, the cloud provider's region code, and the metro area the cloud
// region is in (its coordinates feed the fibre-bound model and Nearest).
type Region struct {
	Name string  // short lowercase identifier, e.g. "seoul"; what configs use
	Code string  // cloud region code, e.g. "ap-northeast-2"; what Terraform uses
	City string  // human name of the metro area, for dashboards and logs
	Lat  float64 // latitude of the metro area, degrees north
	Lon  float64 // longitude of the metro area, degrees east (west is negative)
}

// catalog returns the regions in their fixed order. It is a function returning
// a fresh array rather than a package variable so no caller can mutate the
// catalog another caller sees.
func catalog() [4]Region {
	return [4]Region{
		{Name: "seoul", Code: "ap-northeast-2", City: "Seoul", Lat: 37.5665, Lon: 126.9780},
		{Name: "tokyo", Code: "ap-northeast-1", City: "Tokyo", Lat: 35.6762, Lon: 139.6503},
		{Name: "virginia", Code: "us-east-1", City: "Ashburn, N. Virginia", Lat: 39.0438, Lon: -77.4874},
		{Name: "frankfurt", Code: "eu-central-1", City: "Frankfurt", Lat: 50.1109, Lon: 8.6821},
	}
}

// All returns every region in the fixed catalog order (seoul, tokyo, virginia,
// frankfurt). The slice is a copy; callers may modify it.
func All() []Region {
	c := catalog()
	return c[:]
}

// Names returns the region names in catalog order, for messages that list the
// valid choices.
func Names() []string {
	c := catalog()
	names := make([]string, len(c))
	for i, r := range c {
		names[i] = r.Name
	}
	return names
}

// Lookup finds a region by its name. Matching is exact (case-sensitive): the
// name is an identifier in node metadata, metric labels and DNS records, and
// accepting several spellings would split those.
func Lookup(name string) (Region, bool) {
	c := catalog()
	i := slices.IndexFunc(c[:], func(r Region) bool { return r.Name == name })
	if i < 0 {
		return Region{}, false
	}
	return c[i], true
}

// ByCode finds a region by its cloud region code (e.g. "us-east-1"), for code
// that starts from instance metadata rather than a config file.
func ByCode(code string) (Region, bool) {
	c := catalog()
	i := slices.IndexFunc(c[:], func(r Region) bool { return r.Code == code })
	if i < 0 {
		return Region{}, false
	}
	return c[i], true
}
