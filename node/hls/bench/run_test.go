package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

func logReport(t *testing.T, rep *Report) {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", b.String())
}

// TestPlayersFollowTheLiveEdge: five players over two nodes start at the
// live edge (three segments) through a master playlist, then get each
// new segment exactly once. Every figure of the report is checked against
// what the server saw.
func TestPlayersFollowTheLiveEdge(t *testing.T) {
	f := newFakeLive(10)
	cfg := testConfig(f.start(t), 5)
	cfg.Playlist = "master.m3u8"
	var progress bytes.Buffer
	cfg.Progress = &progress
	run := startRun(t, cfg)

	nodetest.WaitFor(t, 10*time.Second, "players at the edge", func() bool { return f.atEdge(5) })
	for _, n := range []uint64{11, 12} {
		f.advance(n)
		nodetest.WaitFor(t, 10*time.Second, "players at the new edge", func() bool { return f.atEdge(5) })
	}
	rep := run.stop(t)
	logReport(t, rep)
	if !errors.Is(run.err, context.Canceled) || !rep.Interrupted {
		t.Errorf("err %v, interrupted %v; want an interrupted run", run.err, rep.Interrupted)
	}

	pb := rep.Playback
	// Segments 8, 9, 10 at the start, then 11 and 12.
	if pb.Started != 5 || pb.Received != 25 || pb.MinPerPlayer != 5 || pb.MaxPerPlayer != 5 || pb.NoSegments != 0 {
		t.Errorf("playback %+v; want 5 players with 5 segments each", pb)
	}
	if pb.Missed != 0 || pb.Late != 0 || pb.StalePlaylists != 0 {
		t.Errorf("playback %+v; want nothing missed, late or stale", pb)
	}
	s := rep.Segments
	wantBytes := int64(5 * (segSize(8) + segSize(9) + segSize(10) + segSize(11) + segSize(12)))
	if s.Requests != 25 || s.OK != 25 || s.Bytes != wantBytes || len(s.Errors) != 0 {
		t.Errorf("segments: %d requests, %d ok, %d bytes, errors %v; want 25, 25, %d, none", s.Requests, s.OK, s.Bytes, s.Errors, wantBytes)
	}
	// The first request of each of the 5 segments missed.
	if c := s.Cache; c.Miss != 5 || c.Hit != 20 || c.Unknown != 0 || c.Stale != 0 || c.HitRatio != 0.8 {
		t.Errorf("segment cache %+v; want 5 misses, 20 hits", c)
	}
	p := rep.Playlists
	if c := p.Cache; c.Hit+c.Miss+c.Unknown != p.OK || c.Stale != c.Hit || c.Hit == 0 || c.Unknown == 0 || c.Miss != 0 {
		t.Errorf("playlist cache %+v of %d ok; want stale hits and unknowns only", c, p.OK)
	}
	f.locked(func() {
		// Requests the interruption cut off are not counted.
		if p.Requests > int64(f.playlists) || p.Requests < int64(f.playlists-5) || p.OK != p.Requests {
			t.Errorf("playlists: %d requests, %d ok; the server saw %d", p.Requests, p.OK, f.playlists)
		}
		o := rep.Origin
		if o.Scraped != 2 || !o.ByKind || o.DistinctSegments != 5 || o.SegmentFills != 15 ||
			o.PerSegment == nil || *o.PerSegment != 3 || o.PlaylistFills != int64(f.playlists) {
			t.Errorf("origin %+v; want 15 segment fills (2+1 per segment) for 5 segments, %d playlist fills", o, f.playlists)
		}
	})
	// One keep-alive connection per player, opened by its first request.
	if rep.All.NewConns != 5 {
		t.Errorf("%d new connections; want 5, one per player", rep.All.NewConns)
	}
	if rep.All.Requests != p.Requests+s.Requests || rep.All.Bytes != p.Bytes+s.Bytes {
		t.Errorf("all %+v is not playlists + segments", rep.All)
	}
	if s.TTFB.P50Ms <= 0 || s.TTFB.P99Ms < s.TTFB.P50Ms || s.Time.P50Ms < s.TTFB.P50Ms || s.PerSecond <= 0 || s.BytesPerSec <= 0 {
		t.Errorf("segment timings or rates missing: %+v", s)
	}
	if !strings.Contains(progress.String(), "5 players on 2 nodes") {
		t.Errorf("progress lacks the start line:\n%s", progress.String())
	}
}

// TestSlowPlayerMissesSegments: a player whose segments come slowly, or
// not at all, misses what slides out of the window and reports what came
// late.
func TestSlowPlayerMissesSegments(t *testing.T) {
	f := newFakeLive(10)
	f.slow[16] = 1200 * time.Millisecond // more than the 1 s target duration
	f.missing[17] = true
	f.short[19] = true
	nodes := f.start(t)
	run := startRun(t, testConfig(nodes[:1], 1))

	nodetest.WaitFor(t, 10*time.Second, "the player at the edge", func() bool { return f.atEdge(1) })
	f.advance(20) // the window is now 15..20: 11..14 slid out unseen
	nodetest.WaitFor(t, 20*time.Second, "the player at the new edge", func() bool { return f.atEdge(1) })
	rep := run.stop(t)
	logReport(t, rep)

	pb := rep.Playback
	// Received 8, 9, 10, 15, 16, 18, 20; 16 took 1.2 s, and 18 and 20
	// were listed at the same time, so all three are late.
	if pb.Received != 7 || pb.MissedSlid != 4 || pb.MissedFailed != 2 || pb.Missed != 6 || pb.Late != 3 {
		t.Errorf("playback %+v; want 7 received, 4 slid out, 2 failed, 3 late", pb)
	}
	s := rep.Segments
	if s.Requests != 9 || s.OK != 7 || s.Errors["404"] != 1 || s.Errors["body_eof"] != 1 || len(s.Errors) != 2 {
		t.Errorf("segments: %d requests, %d ok, errors %v; want 9, 7, 404=1 body_eof=1", s.Requests, s.OK, s.Errors)
	}
	if s.Cache.Hit+s.Cache.Miss+s.Cache.Unknown != s.OK {
		t.Errorf("segment cache %+v does not add up to %d ok", s.Cache, s.OK)
	}
	// The cut body closed the connection: the next request opened another.
	if rep.All.NewConns != 2 {
		t.Errorf("%d new connections; want 2", rep.All.NewConns)
	}
	if len(rep.Samples) == 0 || !strings.Contains(strings.Join(rep.Samples, "\n"), "seg17.ts: 404") {
		t.Errorf("samples %q lack the 404", rep.Samples)
	}
}

// TestBadPlaylistsAreErrors: a playlist that is missing, is not a
// playlist, or is a master without variants is counted as an error and
// retried at the stream's pace; nothing panics and no segment is fetched.
func TestBadPlaylistsAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		status     int
		body       string
	}{
		{"404", "404", 404, "not found\n"},
		{"not a playlist", "not_playlist", 200, "<html>hello</html>"},
		{"empty", "not_playlist", 200, ""},
		{"master without variants", "bad_master", 200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"},
		{"server error", "502", 502, "#EXTM3U\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeLive(10)
			f.playlistStatus, f.playlistBody = tc.status, tc.body
			run := startRun(t, testConfig(f.start(t), 2))
			nodetest.WaitFor(t, 10*time.Second, "two loads per player", func() bool {
				f.mu.Lock()
				defer f.mu.Unlock()
				return f.playlists >= 4 && len(f.players) == 2
			})
			rep := run.stop(t)
			logReport(t, rep)
			p := rep.Playlists
			if p.OK != 0 || int64(p.Errors[tc.code]) != p.Requests || p.Requests < 2 {
				t.Errorf("playlists: %d requests, %d ok, errors %v; want every one a %s", p.Requests, p.OK, p.Errors, tc.code)
			}
			if rep.Segments.Requests != 0 || rep.Playback.Started != 0 || rep.Playback.NoSegments != 2 {
				t.Errorf("segments %+v, playback %+v; want none", rep.Segments, rep.Playback)
			}
			if rep.Origin.PerSegment != nil {
				t.Errorf("origin per segment %v with no segment requested", *rep.Origin.PerSegment)
			}
		})
	}
}

// TestEndedStreamIsPlayedOnce: a playlist with EXT-X-ENDLIST is played
// from its first segment to its last, and not reloaded. The players are
// done long before the run ends by itself.
func TestEndedStreamIsPlayedOnce(t *testing.T) {
	f := newFakeLive(3)
	f.ended = true
	cfg := testConfig(f.start(t), 2)
	cfg.Ramp, cfg.Duration = 0, 2*time.Second
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
	if rep.Playback.Received != 8 || rep.Playlists.Requests != 2 || rep.Playback.Missed != 0 {
		t.Errorf("received %d segments with %d playlist loads; want 8 (0..3, twice) with 2", rep.Playback.Received, rep.Playlists.Requests)
	}
}

// TestRunRefusesBadSetups: no nodes, a bad node URL, a bad config.
func TestRunRefusesBadSetups(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	if _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Errorf("no nodes: %v", err)
	}
	cfg.Nodes = []benchkit.Node{{URL: "ftp://example.com"}}
	if _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), `"ftp://example.com" is not an http(s)`) {
		t.Errorf("bad URL: %v", err)
	}
	cfg.Players = 0
	if _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "players must be at least 1; got 0") {
		t.Errorf("no players: %v", err)
	}
}

// TestRunEndsByItself: a short run stops every player at ramp + duration
// and is not interrupted.
func TestRunEndsByItself(t *testing.T) {
	f := newFakeLive(10)
	cfg := testConfig(f.start(t), 3)
	cfg.Ramp, cfg.Duration = 200*time.Millisecond, 800*time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	logReport(t, rep)
	if rep.Interrupted || rep.ElapsedSecs > 1.0001 || rep.ElapsedSecs < 0.99 || took > 5*time.Second {
		t.Errorf("interrupted %v, elapsed %.3fs, took %v; want 1 s", rep.Interrupted, rep.ElapsedSecs, took)
	}
	if rep.Playback.Received != 9 || len(rep.All.Errors) != 0 {
		t.Errorf("received %d, errors %v; want 3 segments for each of 3 players", rep.Playback.Received, rep.All.Errors)
	}
}
