package bench

import (
	"fmt"
	"io"
	"maps"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// Report is the outcome of a run: what `relaymesh bench hls` prints, and
// its --json form.
type Report struct {
	Started     time.Time `json:"started"`
	Interrupted bool      `json:"interrupted,omitempty"`

	// The run as configured.
	Nodes        []benchkit.Node `json:"nodes"`
	Stream       string          `json:"stream"`
	Playlist     string          `json:"playlist"`
	Players      int             `json:"players"`
	RampSecs     float64         `json:"ramp_s"`
	DurationSecs float64         `json:"duration_s"`
	// ElapsedSecs is the measured window as it ran, ramp included: the
	// rates are over it. Shorter than ramp + duration when interrupted.
	ElapsedSecs float64 `json:"elapsed_s"`

	Playlists KindReport `json:"playlists"` // master and media playlists
	Segments  KindReport `json:"segments"`  // media segments and init sections
	All       KindReport `json:"all"`

	Playback PlaybackReport `json:"playback"`
	Origin   OriginReport   `json:"origin"`

	Samples []string             `json:"samples,omitempty"` // first errors, with URLs
	Client  benchkit.ClientUsage `json:"client"`
}

// KindReport is every request of one kind that got an answer (requests
// the end of the run cancelled are not counted).
type KindReport struct {
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"` // whole 200 responses with usable content
	// Errors counts the rest by HTTP status ("404") or cause ("timeout",
	// "refused", "reset", "eof", "body_*" for a body cut short,
	// "not_playlist", "bad_master").
	Errors      map[string]int `json:"errors"`
	Bytes       int64          `json:"bytes"`
	PerSecond   float64        `json:"requests_per_sec"`
	BytesPerSec float64        `json:"bytes_per_sec"`
	NewConns    int64          `json:"new_conns"` // requests that opened a connection (keep-alive failed or first)
	// TTFB is request sent (connecting included) to the first response
	// byte, over every response; Time is to the last body byte, over OK
	// responses.
	TTFB  LatencyReport `json:"ttfb"`
	Time  LatencyReport `json:"time"`
	Cache CacheReport   `json:"cache"`
}

// LatencyReport summarises a histogram, in milliseconds.
type LatencyReport struct {
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// CacheReport is how the edges' caches answered the OK responses, from
// their Cache-Status headers: Hit + Miss + Unknown = OK.
type CacheReport struct {
	Hit       int64 `json:"hit"`
	Stale     int64 `json:"stale"` // hits past freshness (served while the origin failed); part of Hit
	Miss      int64 `json:"miss"`
	Collapsed int64 `json:"collapsed"` // misses that waited on another request's fill; part of Miss
	Unknown   int64 `json:"unknown"`   // no Cache-Status header
	// HitRatio is Hit / (Hit + Miss); 0 when neither.
	HitRatio float64 `json:"hit_ratio"`
}

// PlaybackReport is how well the players kept up.
type PlaybackReport struct {
	Started  int   `json:"started"`  // players that loaded a media playlist
	Received int64 `json:"received"` // segments downloaded whole
	// Missed is MissedSlid + MissedFailed: segments a player never got.
	Missed       int64 `json:"missed"`
	MissedSlid   int64 `json:"missed_slid"`   // slid out of the playlist before the player got to them
	MissedFailed int64 `json:"missed_failed"` // their request failed (404, timeout, ...)
	// Late counts received segments that took longer than the target
	// duration from first being listed to the last byte: the player's
	// buffer drained while waiting for them.
	Late int64 `json:"late"`
	// StalePlaylists counts playlist loads whose newest segment was older
	// than one an earlier load listed: an edge served an old copy.
	StalePlaylists int64 `json:"stale_playlists"`
	MinPerPlayer   int64 `json:"min_per_player"` // segments received, over started players
	MaxPerPlayer   int64 `json:"max_per_player"`
	NoSegments     int   `json:"no_segments"` // players that received none

	// What viewers would have seen, by a model of a player that starts
	// playing when its first segment is in and stalls whenever the next
	// one is not in when the playhead gets there (see playback).
	// Startup is player start to first segment in.
	Startup LatencyReport `json:"startup"`
	// RebufferRatio is StalledSecs / WatchedSecs: the share of watch
	// time spent stalled (the brief's target: under 2 %).
	WatchedSecs    float64 `json:"watched_s"`
	StalledSecs    float64 `json:"stalled_s"`
	RebufferRatio  float64 `json:"rebuffer_ratio"`
	Stalls         int64   `json:"stalls"`
	PlayersStalled int     `json:"players_stalled"`
}

// OriginReport is what the run cost the origin, from the nodes' fill
// counters (relaymesh_hls_fills_total, source="origin") scraped before and
// after.
type OriginReport struct {
	Scraped int `json:"scraped"` // nodes scraped both times
	// ByKind is false while the nodes' counter has no kind label: then
	// SegmentFills counts playlist fills as well.
	ByKind        bool  `json:"by_kind"`
	SegmentFills  int64 `json:"segment_fills"`
	PlaylistFills int64 `json:"playlist_fills"`
	// DistinctSegments is how many different segment paths players
	// requested (over all nodes: the same segment on two nodes is one).
	DistinctSegments int `json:"distinct_segments"`
	// PerSegment is SegmentFills / DistinctSegments: 1 is one origin GET
	// per segment for the whole mesh. Absent when nothing was scraped or
	// requested.
	PerSegment *float64     `json:"per_segment,omitempty"`
	Nodes      []OriginNode `json:"nodes"`
	Errors     []string     `json:"errors,omitempty"`
}

// OriginNode is one node's fills from the origin during the run.
type OriginNode struct {
	Name          string `json:"name"`
	URL           string `json:"url"`
	SegmentFills  int64  `json:"segment_fills"`
	PlaylistFills int64  `json:"playlist_fills"`
	Error         string `json:"error,omitempty"`
}

// report assembles the run's report; every player has stopped.
func (r *runner) report(elapsed time.Duration, interrupted bool) *Report {
	cfg := r.cfg
	rep := &Report{
		Started: r.start, Interrupted: interrupted,
		Nodes: cfg.Nodes, Stream: cfg.Stream, Playlist: cfg.Playlist, Players: cfg.Players,
		RampSecs: cfg.Ramp.Seconds(), DurationSecs: cfg.Duration.Seconds(), ElapsedSecs: elapsed.Seconds(),
		Samples: r.samples.get(),
	}
	var kinds [numKinds]*kindStats
	all := newKindStats()
	for k := range kinds {
		kinds[k] = newKindStats()
		for _, s := range r.shards {
			kinds[k].merge(s.kinds[k])
		}
		all.merge(kinds[k])
	}
	rep.Playlists = kindReport(kinds[kindPlaylist], elapsed)
	rep.Segments = kindReport(kinds[kindSegment], elapsed)
	rep.All = kindReport(all, elapsed)

	pb := &rep.Playback
	startup := benchkit.NewHistogram()
	var watched, stalled time.Duration
	for _, p := range r.players {
		if p.playback.playing {
			startup.Record(p.playback.startup)
			w, st := p.playback.watched(p.ended)
			watched += w
			stalled += st
			pb.Stalls += p.playback.stalls
			if st > 0 {
				pb.PlayersStalled++
			}
		}
		pb.Received += p.received
		pb.MissedSlid += p.missedSlid
		pb.MissedFailed += p.missedFailed
		pb.Late += p.late
		pb.StalePlaylists += p.stale
		if p.received == 0 {
			pb.NoSegments++
		}
		if !p.started {
			continue
		}
		if pb.Started == 0 || p.received < pb.MinPerPlayer {
			pb.MinPerPlayer = p.received
		}
		pb.MaxPerPlayer = max(pb.MaxPerPlayer, p.received)
		pb.Started++
	}
	pb.Missed = pb.MissedSlid + pb.MissedFailed
	pb.Startup = latency(startup)
	pb.WatchedSecs, pb.StalledSecs = watched.Seconds(), stalled.Seconds()
	if watched > 0 {
		pb.RebufferRatio = stalled.Seconds() / watched.Seconds()
	}
	return rep
}

func kindReport(s *kindStats, elapsed time.Duration) KindReport {
	kr := KindReport{
		Requests: s.requests, OK: s.ok, Errors: maps.Clone(s.errors), Bytes: s.bytes, NewConns: s.newConns,
		TTFB: latency(s.ttfb), Time: latency(s.total),
		Cache: CacheReport{Hit: s.hit, Stale: s.stale, Miss: s.miss, Collapsed: s.collapsed, Unknown: s.unk},
	}
	if secs := elapsed.Seconds(); secs > 0 {
		kr.PerSecond = float64(s.requests) / secs
		kr.BytesPerSec = float64(s.bytes) / secs
	}
	if n := s.hit + s.miss; n > 0 {
		kr.Cache.HitRatio = float64(s.hit) / float64(n)
	}
	return kr
}

func latency(h *benchkit.Histogram) LatencyReport {
	ms := benchkit.Millis
	return LatencyReport{P50Ms: ms(h.Quantile(0.5)), P99Ms: ms(h.Quantile(0.99)), MaxMs: ms(h.Max()), MeanMs: ms(h.Mean())}
}

// WriteText renders the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "relaymesh bench hls: %d players on %d nodes, /hls/%s/%s; ramp %gs + %gs, measured %.1fs\n",
		rep.Players, len(rep.Nodes), rep.Stream, rep.Playlist, rep.RampSecs, rep.DurationSecs, rep.ElapsedSecs)
	if rep.Interrupted {
		b.WriteString("INTERRUPTED: the figures cover the run until then\n")
	}
	for _, n := range rep.Nodes {
		fmt.Fprintf(&b, "  node %s (%s) %s\n", n.Name, n.Region, n.URL)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\trequests\treq/s\tMB/s\tttfb p50 ms\tp99 ms\tmax ms\ttime p50 ms\tp99 ms\thit %\thit\tstale\tmiss\tcollapsed\tunknown\tnew conns\terrors\t")
	for _, row := range []struct {
		name string
		k    KindReport
	}{{"playlists", rep.Playlists}, {"segments", rep.Segments}, {"all", rep.All}} {
		k := row.k
		hit := "-"
		if k.Cache.Hit+k.Cache.Miss > 0 {
			hit = fmt.Sprintf("%.1f", 100*k.Cache.HitRatio)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n",
			row.name, k.Requests, k.PerSecond, k.BytesPerSec/1e6, k.TTFB.P50Ms, k.TTFB.P99Ms, k.TTFB.MaxMs,
			k.Time.P50Ms, k.Time.P99Ms, hit, k.Cache.Hit, k.Cache.Stale, k.Cache.Miss, k.Cache.Collapsed,
			k.Cache.Unknown, k.NewConns, k.Requests-k.OK)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nerrors:    %s\n", benchkit.CountsString(rep.All.Errors))
	p := rep.Playback
	fmt.Fprintf(&b, "playback:  %d of %d players started; %d segments received (%d to %d per player, %d players none), %d missed (%d slid out, %d failed), %d late, %d stale playlists\n",
		p.Started, rep.Players, p.Received, p.MinPerPlayer, p.MaxPerPlayer, p.NoSegments, p.Missed, p.MissedSlid, p.MissedFailed, p.Late, p.StalePlaylists)
	fmt.Fprintf(&b, "viewing:   startup p50 %.0f ms, p99 %.0f ms, max %.0f ms; rebuffering %.2f %% of %.0f s watched (%d stalls, %d players stalled)\n",
		p.Startup.P50Ms, p.Startup.P99Ms, p.Startup.MaxMs, 100*p.RebufferRatio, p.WatchedSecs, p.Stalls, p.PlayersStalled)
	o := rep.Origin
	switch {
	case o.Scraped == 0:
		fmt.Fprintf(&b, "origin:    no node's /metrics could be scraped\n")
	default:
		per := "-"
		if o.PerSegment != nil {
			per = fmt.Sprintf("%.2f", *o.PerSegment)
		}
		kindNote := ""
		if !o.ByKind {
			kindNote = " (the nodes' counter has no kind label: playlist fills included)"
		}
		fmt.Fprintf(&b, "origin:    %s GETs per segment: %d segment fills%s for %d distinct segments; %d playlist fills; %d of %d nodes scraped\n",
			per, o.SegmentFills, kindNote, o.DistinctSegments, o.PlaylistFills, o.Scraped, len(o.Nodes))
		for _, n := range o.Nodes {
			if n.Error == "" {
				fmt.Fprintf(&b, "           %s: %d segment, %d playlist fills\n", n.Name, n.SegmentFills, n.PlaylistFills)
			}
		}
	}
	for _, e := range o.Errors {
		fmt.Fprintf(&b, "scrape error: %s\n", e)
	}
	fmt.Fprintf(&b, "bench process: %s\n", rep.Client)
	for _, s := range rep.Samples {
		fmt.Fprintf(&b, "sample error: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
