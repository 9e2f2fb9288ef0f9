// Package bench is the HLS load tool behind `relaymesh bench hls`: many
// players follow one live stream on chosen nodes of a running mesh, the way
// hls.js or ffplay do, and the report says what the edges gave them:
// requests and bytes per second, time to first byte for playlists and for
// segments, how the edges' caches answered (the Cache-Status header), how
// many origin GETs each segment cost the mesh (from the nodes' /metrics),
// errors by HTTP status, and whether players kept up (segments missed or
// late).
//
// A player (player.go) loads the playlist, follows a master playlist's
// first variant, starts at the live edge (the last three segments, as
// hls.js does), then downloads every newly listed segment once, in order,
// and reloads the playlist every target duration, or half of it when it
// did not change (RFC 8216 6.3.4). Each player has its own keep-alive
// connection: a real audience is many connections, not a pool.
//
// A run has one measured window: the nodes' counters are scraped before
// the first player starts and after the last one stops, and every request
// in between is reported. Players start spread over Ramp and play until
// Ramp + Duration, so each plays at least Duration.
package bench

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// Config is one benchmark run. Start from DefaultConfig.
type Config struct {
	// Nodes are the edges players connect to, round-robin: player i uses
	// Nodes[i mod len(Nodes)]. Required (Run checks).
	Nodes []benchkit.Node
	// MetricsNodes are the nodes whose /metrics are scraped for origin
	// fills: every alive node of the mesh, since a miss on a player's edge
	// may be filled from the origin by another (the key's owner). Empty
	// means Nodes.
	MetricsNodes []benchkit.Node
	// Stream and Playlist name what players load:
	// /hls/{Stream}/{Playlist} on their node. A master playlist is
	// followed to its first variant.
	Stream   string
	Playlist string
	// Players is how many players to run. Each is one connection (a file
	// descriptor) in this process; see benchkit.RaiseFileLimit.
	Players int
	// Ramp spreads the players' starts evenly over this long, so that
	// they do not all reload at the same instant. One target duration
	// spreads them over the whole reload cycle; 0 starts them together
	// (the worst case, a thundering herd).
	Ramp time.Duration
	// Duration is how long every player plays after the ramp.
	Duration time.Duration
	// RequestTimeout bounds one request, body included. A player that
	// waits longer than a few segment durations has stalled anyway.
	RequestTimeout time.Duration
	// Progress, if set, receives a line every ProgressEvery.
	Progress io.Writer
	// ProgressEvery is the interval of progress lines; 0 means 5 s.
	ProgressEvery time.Duration
}

// DefaultConfig is what `relaymesh bench hls` runs without flags (less
// the nodes, which it discovers).
func DefaultConfig() Config {
	return Config{
		Stream:         "demo",       // the looping stream `relaymesh dev` publishes
		Playlist:       "index.m3u8", // the demo's media playlist
		Players:        100,
		Ramp:           time.Second, // one target duration of the demo stream
		Duration:       30 * time.Second,
		RequestTimeout: 10 * time.Second, // ten 1 s segments: long stalled
		ProgressEvery:  5 * time.Second,
	}
}

// Validate reports every bad field, with its value. It does not look at
// the nodes, which are usually discovered after the flags are checked.
func (c Config) Validate() error {
	var errs []error
	if c.Players < 1 {
		errs = append(errs, fmt.Errorf("players must be at least 1; got %d", c.Players))
	}
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be above 0; got %v", c.Duration))
	}
	if c.Ramp < 0 {
		errs = append(errs, fmt.Errorf("ramp must not be negative; got %v", c.Ramp))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request timeout must be above 0; got %v", c.RequestTimeout))
	}
	if c.Stream == "" || strings.ContainsAny(c.Stream, "/?#%") || c.Stream == "." || c.Stream == ".." {
		errs = append(errs, fmt.Errorf("stream must be one path segment; got %q", c.Stream))
	}
	if c.Playlist == "" || strings.ContainsAny(c.Playlist, "?#%") || strings.HasPrefix(c.Playlist, "/") ||
		path.Clean(c.Playlist) != c.Playlist || strings.HasPrefix(c.Playlist, "..") {
		errs = append(errs, fmt.Errorf("playlist must be a clean relative path under the stream; got %q", c.Playlist))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: bad config: %w", err)
	}
	return nil
}

// ValidNodeURL checks that s is a node's base URL, http(s)://host[:port]
// without a query, so that a typo fails before any player starts.
func ValidNodeURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("bench: node address %q is not an http(s)://host:port URL", s)
	}
	return nil
}

// playlistURL is where players on the node at base start.
func (c Config) playlistURL(base string) (*url.URL, error) {
	if err := ValidNodeURL(base); err != nil {
		return nil, err
	}
	return url.Parse(strings.TrimRight(base, "/") + "/hls/" + c.Stream + "/" + c.Playlist)
}
