//go:build race

package devmesh

// raceEnabled: the race detector slows code 5-10x, so timing bounds are
// reported instead of enforced; CI also runs the timing tests without it.
const raceEnabled = true
