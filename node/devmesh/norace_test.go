//go:build !race

package devmesh

const raceEnabled = false
