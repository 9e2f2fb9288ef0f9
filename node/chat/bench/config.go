// Package bench is the chat load tool behind `relaymesh bench chat`: it
// opens many fans (WebSocket clients, package fan) spread over the nodes
// and rooms of a running mesh, has some of them publish at a set total
// rate, and reports delivered messages per second and delivery latency
// (publish to receipt, one host so one clock) per pair of regions, with
// everything that went wrong: connect failures, error frames, losses,
// duplicates, gaps, disconnects.
//
// A run has fixed phases and ends by itself:
//
//	ramp     connect every fan (bounded concurrency), each until its synced frame
//	warmup   publish, but do not measure: sources and caches settle
//	measure  publish; messages sent now are the ones reported
//	drain    no more publishing; wait for the measured messages still on their way
//	close    close every connection with a close handshake
//
// Latency is recorded in log-linear histograms (benchkit.Histogram) per
// region pair, sharded by fan and merged at the end, so memory does not grow
// with the number of messages.
package bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// Config is one benchmark run. Start from DefaultConfig.
type Config struct {
	// Mesh holds the nodes to connect fans to (Discover or Describe) and
	// the chat tree, used for the model latency column. Required.
	Mesh Mesh
	// Fans is how many WebSocket clients to open. Each is a socket (a file
	// descriptor) in this process; see benchkit.RaiseFileLimit.
	Fans int
	// Rooms is how many rooms the fans are spread over. Every fan of a room
	// receives every message of the room, so deliveries per second are
	// Rate × Fans / Rooms: this is the knob between fan-out and rate.
	Rooms int
	// Publishers is how many of the fans also publish. Fan i is in room
	// i mod Rooms on node (i / Rooms) mod len(Nodes), and the publishers
	// are fans 0 .. Publishers-1, so with Publishers = Rooms × nodes every
	// room has one publisher on every node.
	Publishers int
	// Rate is the total publishes per second, across all publishers; each
	// publishes at Rate/Publishers on a fixed schedule (open loop: a slow
	// mesh does not slow the publishers down).
	Rate float64
	// Ramp bounds the connect phase; fans not connected and synced by then
	// count as connect failures.
	Ramp time.Duration
	// Warmup is how long to publish before measuring.
	Warmup time.Duration
	// Duration is the measured phase.
	Duration time.Duration
	// Drain is how long to wait after the measured phase for messages still
	// in flight; the run ends earlier once every stored measured message
	// has reached every fan of its room.
	Drain time.Duration
	// DialConcurrency bounds the fans connecting at once (a dial counts
	// until the fan's synced frame).
	DialConcurrency int
	// RoomPrefix names the rooms, RoomPrefix-0 .. RoomPrefix-(Rooms-1).
	// Empty picks "bench-" and a random suffix, so a run never replays an
	// earlier run's messages as join history.
	RoomPrefix string
	// Mode names the run in the report: ModeDelivery (fan-out latency) or
	// ModePublish (publish capacity: every fan publishes, read the ack
	// latency). The runner is the same; only the defaults differ.
	Mode string
	// FanFrom and FanTo are the fans this process runs, [FanFrom, FanTo)
	// of 0..Fans-1: a worker's slice, so that rooms, nodes and publishers
	// stay assigned by the global fan index. Both 0: every fan.
	FanFrom, FanTo int
	// Sources are the source addresses fans dial from: fan i uses
	// Sources[i mod len(Sources)]. Empty: the kernel picks (one address).
	Sources []netip.Addr
	// Sync, when set, runs this process's fans in step with other worker
	// processes (RunWorkers); nil for a run in one process.
	Sync Sync `json:"-"`
	// Progress, if set, receives a line per phase and every few seconds.
	Progress io.Writer `json:"-"`
	// ProgressEvery is the interval of progress lines; 0 means 5 s.
	ProgressEvery time.Duration
}

// Run modes.
const (
	ModeDelivery = "delivery"
	ModePublish  = "publish"
)

// span is the fans this process runs.
func (c Config) span() (from, to int) {
	if c.FanFrom == 0 && c.FanTo == 0 {
		return 0, c.Fans
	}
	return c.FanFrom, c.FanTo
}

// DefaultConfig is what `relaymesh bench chat` runs without flags (less the
// mesh, which it discovers).
func DefaultConfig() Config {
	return Config{
		Fans:            1000,
		Rooms:           10,
		Publishers:      40,  // one per room and node on a 4-node mesh
		Rate:            100, // total: 2.5/s per publisher, a lively chat
		Ramp:            60 * time.Second,
		Warmup:          5 * time.Second,
		Duration:        30 * time.Second,
		Drain:           5 * time.Second, // > the worst tree path (~136 ms) by far
		DialConcurrency: 200,             // well inside the default listen backlog
		ProgressEvery:   5 * time.Second,
		Mode:            ModeDelivery,
	}
}

// Validate reports every bad field, with its value. It does not look at
// Mesh, which is usually discovered after the flags are checked; Run
// requires at least one node.
func (c Config) Validate() error {
	var errs []error
	if c.Fans < 1 {
		errs = append(errs, fmt.Errorf("fans must be at least 1; got %d", c.Fans))
	}
	if c.Rooms < 1 {
		errs = append(errs, fmt.Errorf("rooms must be at least 1; got %d", c.Rooms))
	}
	if c.Publishers < 1 || c.Publishers > c.Fans {
		errs = append(errs, fmt.Errorf("publishers must be 1 to fans (%d); got %d", c.Fans, c.Publishers))
	}
	if !(c.Rate > 0) {
		errs = append(errs, fmt.Errorf("rate must be above 0; got %v", c.Rate))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"ramp", c.Ramp, time.Millisecond}, {"warmup", c.Warmup, 0}, {"duration", c.Duration, time.Millisecond}, {"drain", c.Drain, 0}} {
		if d.v < d.min {
			errs = append(errs, fmt.Errorf("%s must be at least %v; got %v", d.name, d.min, d.v))
		}
	}
	if from, to := c.span(); from < 0 || to > c.Fans || from > to {
		errs = append(errs, fmt.Errorf("fan range [%d, %d) is not within 0..%d", from, to, c.Fans))
	}
	switch c.Mode {
	case "", ModeDelivery, ModePublish:
	default:
		errs = append(errs, fmt.Errorf("mode must be %s or %s; got %q", ModeDelivery, ModePublish, c.Mode))
	}
	if c.DialConcurrency < 1 {
		errs = append(errs, fmt.Errorf("dial concurrency must be at least 1; got %d", c.DialConcurrency))
	}
	if c.RoomPrefix != "" {
		if err := wire.ValidRoom(roomName(c.RoomPrefix, max(c.Rooms-1, 0))); err != nil {
			errs = append(errs, fmt.Errorf("room prefix %q: %w", c.RoomPrefix, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: bad config: %w", err)
	}
	return nil
}

func roomName(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// randomPrefix returns "bench-" and 8 random hex digits.
func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return "bench-" + hex.EncodeToString(b[:])
}
