// Package ingest accepts a streamer's HLS at any node: PUT and DELETE under
// /ingest/{stream}/{path...}, as `ffmpeg -f hls -method PUT` sends them,
// authorised per stream with a bearer key. Every object goes through the
// durable spool (node/ingest/spool) to the origin in order; the streamer
// is answered 201/204 once the origin has it, or 202 once it is safely on
// local disk when the origin is slow or down.
package ingest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
	"github.com/relaymesh/relaymesh/node/httplimit"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/origin"
)

// Origin is what the uploader needs from the origin.
type Origin interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (origin.Info, error)
	Delete(ctx context.Context, key string) error
}

// Limits are the parts of the config a reload may change (SetLimits).
type Limits struct {
	Keys map[string]string // stream -> bearer key
	// MinRate (bytes per second) over every RateWindow is the slowest an
	// upload may arrive before it is cut with 408 (httplimit.MinRate).
	MinRate    int64
	RateWindow time.Duration
	// MaxPlaylist bounds a pushed playlist, which is held in memory,
	// parsed and announced.
	MaxPlaylist int64
}

// Stats are the service's counters.
type Stats struct {
	SlowUploads      uint64 // uploads cut below the minimum rate
	TooLarge         uint64 // bodies refused over their bound (413)
	BadPlaylists     uint64 // .m3u8 bodies that are not playlists (400)
	ReadFailures     uint64 // bodies that broke off otherwise
	LocalCacheMisses uint64 // pushed objects not put into this node's cache (read back failed)
}

// Config configures the ingest service.
type Config struct {
	Limits
	Spool            *spool.Spool
	Origin           Origin
	Cache            *cache.Cache // this edge serves pushed objects at once
	MaxObjectBytes   int64
	WriteThroughWait time.Duration
	PlaylistMaxAge   time.Duration
	// OnPlaylist, if set, is called for every pushed playlist as soon as it
	// is durably accepted (spooled), before the streamer is answered: the
	// node announces it to the mesh so that every edge serves it at once.
	OnPlaylist func(key string, body []byte)
	Logger     *slog.Logger
}

// Service is the running ingest endpoint and its uploader.
type Service struct {
	cfg    Config
	limits atomic.Pointer[Limits]
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	slow, tooLarge, badPlaylists, readFailures, cacheMisses atomic.Uint64
}

// New builds the service and starts the uploader that drains the spool
// into the origin; Close stops it.
func New(cfg Config) (*Service, error) {
	if cfg.Spool == nil || cfg.Origin == nil || cfg.Cache == nil {
		return nil, errors.New("ingest: Spool, Origin and Cache are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if err := s.SetLimits(cfg.Limits); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := cfg.Spool.Run(ctx, s.apply); err != nil && ctx.Err() == nil {
			s.log.Error("ingest uploader stopped", "err", err)
		}
	}()
	return s, nil
}

// SetLimits replaces the stream keys and the body limits; requests already
// running keep the ones they started with.
func (s *Service) SetLimits(l Limits) error {
	if l.MinRate < 1 || l.RateWindow <= 0 || l.MaxPlaylist < 1 {
		return fmt.Errorf("ingest: invalid limits: min rate %d, window %s, max playlist %d", l.MinRate, l.RateWindow, l.MaxPlaylist)
	}
	l.Keys = maps.Clone(l.Keys)
	s.limits.Store(&l)
	return nil
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{SlowUploads: s.slow.Load(), TooLarge: s.tooLarge.Load(), BadPlaylists: s.badPlaylists.Load(),
		ReadFailures: s.readFailures.Load(), LocalCacheMisses: s.cacheMisses.Load()}
}

// apply sends one spooled op to the origin, streaming the body from the
// spool's file. The spool retries a failure
// forever, in order: a configuration error (say, access denied) holds the
// queue until ops fix it, rather than losing or reordering a stream.
func (s *Service) apply(ctx context.Context, op spool.Op) error {
	var err error
	switch op.Kind {
	case spool.KindPut:
		_, err = s.cfg.Origin.Put(ctx, op.Key, op.Body, op.Size, op.ContentType)
	case spool.KindDelete:
		err = s.cfg.Origin.Delete(ctx, op.Key)
	}
	if err != nil {
		s.log.Warn("origin write failed; will retry", "key", op.Key, "waiting", s.cfg.Spool.Oldest().Round(time.Second), "err", err)
	}
	return err
}

// Close stops the uploader; what is still spooled stays on disk for the
// next start. The spool is the caller's to close, after this. Close
// returns nil: the error is there so every service stops the same way.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Routes registers the ingest endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /ingest/{stream}/{path...}", s.handle)
	mux.HandleFunc("POST /ingest/{stream}/{path...}", s.handle) // some HLS writers POST
	mux.HandleFunc("DELETE /ingest/{stream}/{path...}", s.handle)
}

// handle takes one push. Every body goes to the spool first, streamed
// straight to disk, and only then to the origin, read back from the
// spool's file by the uploader: the streamer is answered 201 if that
// finished within WriteThroughWait, 202 otherwise. There is no direct
// write to the origin to fall back from, so a body half-consumed by a
// failed origin call can never be lost, and no body is ever held in memory
// while it arrives (playlists excepted: they are small, bounded by
// MaxPlaylist, and parsed).
func (s *Service) handle(w http.ResponseWriter, r *http.Request) {
	lim := s.limits.Load()
	rc := http.NewResponseController(w)
	stream, p := r.PathValue("stream"), r.PathValue("path")
	want, known := lim.Keys[stream]
	got, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !hasBearer || got == "":
		w.Header().Set("WWW-Authenticate", `Bearer realm="relaymesh ingest"`)
		httpError(w, http.StatusUnauthorized, "missing_key", "send the stream key as Authorization: Bearer KEY")
		return
	case !known || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
		// One answer for a stream that is not configured and for a wrong
		// key: a different one (it was 404 unknown_stream) told anyone
		// which stream names exist.
		httpError(w, http.StatusForbidden, "wrong_key", "wrong stream key")
		return
	}
	key, err := hlskey.Join(stream, p)
	if err != nil {
		httpError(w, http.StatusBadRequest, "bad_path", err.Error())
		return
	}
	ctype, immutable, ok := hlskey.KindOf(p)
	if !ok {
		httpError(w, http.StatusBadRequest, "not_hls", fmt.Sprintf("%q is not a playlist or media segment", p))
		return
	}

	op := spool.Delete(key)
	var playlist []byte
	if r.Method != http.MethodDelete {
		// An upload may take longer than the server's read and write
		// timeouts allow any request: it must keep a minimum rate
		// instead, and the answer gets its own deadline below.
		_ = rc.SetWriteDeadline(time.Time{})
		body := http.MaxBytesReader(w, httplimit.MinRate(r.Body, rc, lim.MinRate, lim.RateWindow), s.bodyLimit(lim, immutable))
		op = spool.Op{Kind: spool.KindPut, Key: key, ContentType: ctype, Body: body, Size: r.ContentLength}
		if !immutable {
			if playlist, ok = s.readPlaylist(w, body, s.bodyLimit(lim, immutable)); !ok {
				return
			}
			op = spool.Put(key, ctype, playlist)
		}
	}
	seq, recorded, err := s.cfg.Spool.AppendOpen(op)
	if err != nil {
		s.refuse(w, key, s.bodyLimit(lim, immutable), err)
		return
	}
	// The body is in: the answer may wait WriteThroughWait for the origin.
	// The read deadline goes too, or the server's background read would
	// end the request's context when the last upload window runs out.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteThroughWait + 10*time.Second))
	s.serveLocally(op, recorded, playlist, immutable)
	if recorded != nil {
		_ = recorded.Close() // read-only; nothing to report
	}
	if op.Kind == spool.KindPut && !immutable && s.cfg.OnPlaylist != nil {
		s.cfg.OnPlaylist(op.Key, playlist)
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WriteThroughWait)
	defer cancel()
	written := s.cfg.Spool.Wait(ctx, seq) == nil
	switch {
	case !written:
		w.Header().Set("X-Relaymesh-Ingest", "spooled")
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("X-Relaymesh-Ingest", "written")
		w.WriteHeader(http.StatusCreated)
	}
}

// bodyLimit is the largest body a push of this kind may carry.
func (s *Service) bodyLimit(lim *Limits, immutable bool) int64 {
	if immutable {
		return s.cfg.MaxObjectBytes
	}
	return min(s.cfg.MaxObjectBytes, lim.MaxPlaylist)
}

// readPlaylist reads a pushed playlist (at most limit bytes) and checks
// that it parses; on failure it has answered the streamer.
func (s *Service) readPlaylist(w http.ResponseWriter, body io.Reader, limit int64) ([]byte, bool) {
	b, err := io.ReadAll(body)
	if err != nil {
		s.refuse(w, "", limit, err)
		return nil, false
	}
	if _, err := playlist.Parse(b); err != nil {
		s.badPlaylists.Add(1)
		httpError(w, http.StatusBadRequest, "not_playlist", "the body of a .m3u8 must be an HLS playlist")
		return nil, false
	}
	return b, true
}

// refuse answers an append or body read that failed.
func (s *Service) refuse(w http.ResponseWriter, key string, limit int64, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, spool.ErrTooLarge):
		s.tooLarge.Add(1)
		httpError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("this object is limited to %d bytes", limit))
	case errors.Is(err, httplimit.ErrTooSlow):
		s.slow.Add(1)
		s.log.Info("upload cut below the minimum rate", "key", key, "err", err)
		httpError(w, http.StatusRequestTimeout, "too_slow", "the body arrived below the minimum upload rate")
	case errors.Is(err, spool.ErrFull):
		httpError(w, http.StatusInsufficientStorage, "spool_full", "origin unreachable for too long and the local spool is full")
	case errors.Is(err, spool.ErrInvalidOp):
		s.readFailures.Add(1)
		httpError(w, http.StatusBadRequest, "bad_body", err.Error())
	case errors.Is(err, spool.ErrReadBody):
		s.readFailures.Add(1)
		httpError(w, http.StatusBadRequest, "bad_body", "could not read the body")
	default:
		s.log.Error("spool append failed", "key", key, "err", err)
		httpError(w, http.StatusInternalServerError, "spool_error", "could not store the object")
	}
}

// serveLocally updates this edge's cache, so players here see the pushed
// object before the origin confirms it. A segment is read back from the
// spool (recorded), once it is complete, rather than kept in memory while
// it arrives.
func (s *Service) serveLocally(op spool.Op, recorded *spool.Body, playlist []byte, immutable bool) {
	if op.Kind == spool.KindDelete {
		s.cfg.Cache.Delete(op.Key)
		return
	}
	body := playlist
	if immutable {
		b, err := io.ReadAll(recorded)
		if err != nil {
			s.cacheMisses.Add(1)
			s.log.Warn("reading a pushed segment back for the cache", "key", op.Key, "err", err)
			return
		}
		body = b
	}
	now := time.Now().UTC()
	e := cache.Entry{Key: op.Key, Body: body, Meta: cache.Meta{
		ContentType: op.ContentType, Stored: now, Immutable: immutable,
	}}
	if !immutable {
		e.Expires = now.Add(s.cfg.PlaylistMaxAge)
	}
	_ = s.cfg.Cache.Put(e)
}

// httpError answers {"error": code, "message": msg}, encoded by
// encoding/json (Go's %q is not JSON).
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}
