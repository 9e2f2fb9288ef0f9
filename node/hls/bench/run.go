package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// runner is one run: Run owns it, the players write into its shards and
// live totals, and report reads them once every player has stopped.
type runner struct {
	cfg     Config
	shards  []*shard
	players []*player
	live    live
	samples samples
	start   time.Time
	out     *benchkit.Progress
}

// Run runs one benchmark and returns its report. It returns an error
// without a report when the run could not be set up (bad config, no
// nodes). When ctx ends early every player stops, and the report covers
// the run until then, with Interrupted set, along with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Nodes) == 0 {
		return nil, errors.New("bench: no nodes to play from")
	}
	if len(cfg.MetricsNodes) == 0 {
		cfg.MetricsNodes = cfg.Nodes
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 5 * time.Second
	}
	entries := make([]*url.URL, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		u, err := cfg.playlistURL(n.URL)
		if err != nil {
			return nil, err
		}
		entries[i] = u
	}
	r := &runner{cfg: cfg, shards: newShards(min(cfg.Players, 64)), out: benchkit.NewProgress(cfg.Progress)}

	scraper := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer scraper.CloseIdleConnections()
	before, beforeErrs := originFills(ctx, scraper, cfg.MetricsNodes)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("bench: interrupted before the start: %w", ctx.Err())
	}

	r.start = time.Now()
	end := r.start.Add(cfg.Ramp + cfg.Duration)
	r.out.Printf("bench: %d players on %d nodes, /hls/%s/%s, ramp %v, then %v",
		cfg.Players, len(cfg.Nodes), cfg.Stream, cfg.Playlist, cfg.Ramp, cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	r.players = make([]*player, cfg.Players)
	for i := range r.players {
		entry := entries[i%len(entries)] // shared, never modified
		startAt := r.start.Add(cfg.Ramp * time.Duration(i) / time.Duration(cfg.Players))
		r.players[i] = newPlayer(r, i, entry, startAt)
	}

	var wg sync.WaitGroup
	progCtx, stopProgress := context.WithCancel(runCtx)
	defer stopProgress()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.progress(progCtx)
	}()
	for _, p := range r.players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(runCtx)
		}()
	}
	<-runCtx.Done()
	stopped := time.Now()
	wg.Wait() // players return at once: every wait and request takes runCtx
	elapsed := min(stopped.Sub(r.start), cfg.Ramp+cfg.Duration)

	// Scrape even when interrupted: the report should still say what the
	// run cost the origin. A short budget keeps a second Ctrl-C away.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	after, afterErrs := originFills(sctx, scraper, cfg.MetricsNodes)

	interrupted := ctx.Err() != nil
	rep := r.report(elapsed, interrupted)
	rep.Origin = r.originReport(before, after, beforeErrs, afterErrs)
	rep.Client = benchkit.ReadClientUsage()
	r.out.Printf("bench: done after %.1fs", elapsed.Seconds())
	if interrupted {
		return rep, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	return rep, nil
}

// progress prints a line every cfg.ProgressEvery until ctx ends.
func (r *runner) progress(ctx context.Context) {
	var lastReq, lastBytes int64
	last := r.start
	r.out.Every(ctx, r.cfg.ProgressEvery, func() {
		now := time.Now()
		req, b := r.live.requests.Load(), r.live.bytes.Load()
		secs := now.Sub(last).Seconds()
		r.out.Printf("bench: %5.1fs players %d/%d, %.0f req/s, %.1f MB/s, errors %d, segments %d received, %d missed, %d late",
			now.Sub(r.start).Seconds(), r.live.started.Load(), r.cfg.Players,
			float64(req-lastReq)/secs, float64(b-lastBytes)/secs/1e6, r.live.errors.Load(),
			r.live.received.Load(), r.live.missed.Load(), r.live.late.Load())
		lastReq, lastBytes, last = req, b, now
	})
}

// originReport turns the scrapes before and after the run into origin
// fills per distinct segment.
func (r *runner) originReport(before, after []fills, beforeErrs, afterErrs []error) OriginReport {
	var o OriginReport
	for i, n := range r.cfg.MetricsNodes {
		row := OriginNode{Name: n.Name, URL: n.URL}
		if err := errors.Join(beforeErrs[i], afterErrs[i]); err != nil {
			row.Error = err.Error()
			o.Errors = append(o.Errors, fmt.Sprintf("%s: %v", n.URL, err))
			o.Nodes = append(o.Nodes, row)
			continue
		}
		b, a := before[i], after[i]
		o.Scraped++
		o.ByKind = o.ByKind || a.byKind
		if a.byKind {
			row.SegmentFills, row.PlaylistFills = delta(b.segment, a.segment), delta(b.playlist, a.playlist)
		} else {
			row.SegmentFills = delta(b.origin, a.origin) // no kind label yet: every origin fill
		}
		o.SegmentFills += row.SegmentFills
		o.PlaylistFills += row.PlaylistFills
		o.Nodes = append(o.Nodes, row)
	}
	keys := map[string]struct{}{}
	for _, s := range r.shards {
		for k := range s.keys {
			keys[k] = struct{}{}
		}
	}
	o.DistinctSegments = len(keys)
	if o.Scraped > 0 && o.DistinctSegments > 0 {
		v := float64(o.SegmentFills) / float64(o.DistinctSegments)
		o.PerSegment = &v
	}
	return o
}

// delta is a counter's increase; a counter that went down was reset (the
// node restarted), and counts from zero, as Prometheus's increase() does.
func delta(before, after float64) int64 {
	if after < before {
		return int64(after)
	}
	return int64(after - before)
}
