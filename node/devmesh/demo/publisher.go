package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
)

// Config tunes a Publisher. Start from DefaultConfig; zero fields other
// than Stream and FirstSeq take the defaults.
type Config struct {
	// Stream is the stream name, the first segment of every key. Default
	// "demo".
	Stream string

	// SegmentDuration is how often a segment is published. The media are
	// 1 s segments, so anything else plays faster or slower than real time
	// for players; tests shorten it to run many ticks quickly. Default 1s.
	SegmentDuration time.Duration

	// Window is how many segments the live playlist lists. Players start
	// about three segments behind the newest, so more than three keeps a
	// little slack; more delays nothing but lengthens each playlist.
	// Default 6.
	Window int

	// Keep is how many segments stay at the origin after they leave the
	// window, for players (and edges) that still hold an older playlist
	// and fetch a segment from it a little late. Default 4.
	Keep int

	// FirstSeq is the number of the first segment published. Segments
	// are named by number and never reused within a run; a caller that
	// restarts against an origin that kept the old objects may start
	// past the old numbers. Default 0.
	FirstSeq uint64

	// Logger gets the publisher's messages. Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig is what `relaymesh dev` uses.
func DefaultConfig() Config {
	return Config{
		Stream:          "demo",
		SegmentDuration: time.Second, // the segments' own length: plays in real time
		Window:          6,           // players start ~3 back; 3 more of slack
		Keep:            4,           // late fetches from a playlist a few seconds old
	}
}

// ErrRunning is returned by Run when the Publisher is already running.
var ErrRunning = errors.New("demo: publisher is already running")

// Publisher turns the embedded loop into an endless live stream at the
// origin. On every tick it uploads the next segment, "{stream}/seg{N}.ts"
// with N counting up forever and the content Asset(N), then the playlist
// "{stream}/index.m3u8" (Playlist(N, Window)), then deletes the segments
// that are more than Keep behind the window. The first tick publishes a
// whole window at once, so players can start at once.
//
// A step that fails is logged and retried on the next tick, where the
// stream continues from the segment that failed: it pauses while the
// origin is down, never skips a number, and never fails for good.
//
// A Publisher starts no goroutine: Run blocks, and its caller owns it.
type Publisher struct {
	store Store
	cfg   Config
	log   *slog.Logger

	running sync.Mutex // held by Run; TryLock detects a second Run

	// State, touched only by the Run that holds running.
	next     uint64 // next segment number to upload
	oldest   uint64 // lowest segment number that may still be at the origin
	primed   bool   // a playlist has been uploaded
	failures int    // failed ticks in a row
}

// New checks cfg, applies the defaults, and returns a Publisher writing
// to store. It does not contact the store.
func New(store Store, cfg Config) (*Publisher, error) {
	if store == nil {
		return nil, errors.New("demo: store is nil")
	}
	def := DefaultConfig()
	if cfg.Stream == "" {
		cfg.Stream = def.Stream
	}
	if cfg.SegmentDuration == 0 {
		cfg.SegmentDuration = def.SegmentDuration
	}
	if cfg.Window == 0 {
		cfg.Window = def.Window
	}
	if cfg.Keep == 0 {
		cfg.Keep = def.Keep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var errs []string
	if _, err := hlskey.Join(cfg.Stream, PlaylistName); err != nil {
		errs = append(errs, fmt.Sprintf("stream: %v", err))
	}
	if cfg.SegmentDuration < 0 {
		errs = append(errs, fmt.Sprintf("segment duration %v is negative", cfg.SegmentDuration))
	}
	if cfg.Window < 1 {
		errs = append(errs, fmt.Sprintf("window %d: must be at least 1", cfg.Window))
	}
	if cfg.Keep < 0 {
		errs = append(errs, fmt.Sprintf("keep %d is negative", cfg.Keep))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("demo: bad config: %s", strings.Join(errs, "; "))
	}
	return &Publisher{
		store:  store,
		cfg:    cfg,
		log:    cfg.Logger.With("stream", cfg.Stream),
		next:   cfg.FirstSeq,
		oldest: cfg.FirstSeq,
	}, nil
}

// PlaylistKey is the object key of the live playlist, "{stream}/index.m3u8";
// an edge serves it at /hls/{stream}/index.m3u8.
func (p *Publisher) PlaylistKey() string { return p.cfg.Stream + "/" + PlaylistName }

func (p *Publisher) segmentKey(n uint64) string { return p.cfg.Stream + "/" + SegmentName(n) }

// Run publishes a tick at once and then one every SegmentDuration until
// ctx ends; it returns nil then, or ErrRunning at once if another Run of
// p is in progress. A later Run continues where the last one stopped.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.TryLock() {
		return ErrRunning
	}
	defer p.running.Unlock()

	t := time.NewTicker(p.cfg.SegmentDuration)
	defer t.Stop()
	for {
		p.report(ctx, p.tick(ctx))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// report logs a tick's outcome: the first failure of a run of them and
// then one a minute at the default pace (not one per tick while the
// origin is down), and the recovery.
func (p *Publisher) report(ctx context.Context, err error) {
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the failure is the cancellation, not news.
	case err != nil:
		p.failures++
		if p.failures == 1 || p.failures%60 == 0 {
			p.log.Warn("demo stream: publishing failed, retrying every segment",
				"failures", p.failures, "err", err)
		}
	case p.failures > 0:
		p.log.Info("demo stream: publishing again", "failures", p.failures, "playlist", p.PlaylistKey())
		p.failures = 0
	}
}

// tick uploads the due segments, then the playlist listing them, then
// deletes what fell out of the window. It stops at the first failure;
// the state says what is done, so the next tick resumes there.
func (p *Publisher) tick(ctx context.Context) error {
	due := p.next + 1
	if !p.primed {
		due = max(due, p.cfg.FirstSeq+uint64(p.cfg.Window))
	}
	for p.next < due {
		key, b := p.segmentKey(p.next), Asset(p.next)
		if err := p.store.Put(ctx, key, bytes.NewReader(b), int64(len(b)), SegmentType); err != nil {
			return fmt.Errorf("demo: put segment %s: %w", key, err)
		}
		p.next++
	}

	newest := p.next - 1
	pl := Playlist(newest, p.cfg.Window)
	if err := p.store.Put(ctx, p.PlaylistKey(), strings.NewReader(pl), int64(len(pl)), PlaylistType); err != nil {
		return fmt.Errorf("demo: put playlist %s (newest segment %d): %w", p.PlaylistKey(), newest, err)
	}
	if !p.primed {
		p.primed = true
		p.log.Info("demo stream: live", "playlist", p.PlaylistKey(), "segment_duration", p.cfg.SegmentDuration)
	}

	// Only now that no playlist lists them: keep the window and Keep more.
	retained := uint64(p.cfg.Window + p.cfg.Keep)
	for p.oldest+retained <= newest {
		key := p.segmentKey(p.oldest)
		if err := p.store.Delete(ctx, key); err != nil {
			return fmt.Errorf("demo: delete old segment %s: %w", key, err)
		}
		p.oldest++
	}
	return nil
}
