package regions

import (
	"math"
	"time"
)

const (
	// earthRadiusKm is the mean Earth radius (IUGG); the spherical model is
	// off by at most ~0.5%, well inside what a latency bound needs.
	earthRadiusKm = 6371.0088

	// fibreKmPerSecond is the speed of light in optical fibre: c divided by
	// the refractive index of the glass core, ~1.5.
	fibreKmPerSecond = 299_792.458 / 1.5
)

// GreatCircleKm returns the great-circle (haversine) distance between two
// regions' metro areas in kilometres: the shortest path a cable could take.
func GreatCircleKm(a, b Region) float64 {
	return haversineKm(a.Lat, a.Lon, b.Lat, b.Lon)
}

// FibreBoundRTT returns the round trip light in fibre needs over the
// great-circle distance between two regions. Real routes are longer and pass
// through routers, so a measured RTT below this bound means bad coordinates or
// a bad measurement.
func FibreBoundRTT(a, b Region) time.Duration {
	seconds := 2 * GreatCircleKm(a, b) / fibreKmPerSecond
	return time.Duration(seconds * float64(time.Second))
}

// Nearest returns the region whose metro area is closest (great circle) to the
// given coordinate, in degrees. It is a geographic guess for a client without
// better data, e.g. to place a demo viewer; routing in production uses DNS
// latency records and measured RTTs. Ties go to the earlier region in catalog
// order.
func Nearest(lat, lon float64) Region {
	c := catalog()
	best, bestKm := c[0], math.Inf(1)
	for _, r := range c {
		if km := haversineKm(lat, lon, r.Lat, r.Lon); km < bestKm {
			best, bestKm = r, km
		}
	}
	return best
}

// haversineKm is the haversine formula, numerically stable for the short and
// antipodal distances alike thanks to the clamp before Asin.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(math.Min(1, h)))
}
