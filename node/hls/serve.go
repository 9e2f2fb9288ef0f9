// Package hls serves HLS playlists and media to players from the edge's
// cache (node/hls/cache). A miss is filled once per node, from the key's
// owner edge in the region, the shield region's owner or the origin
// (mesh.go); edges with players prefetch segments that the ingest node
// announces (prefetch.go); expired playlists are served stale while the
// origin is unreachable. docs/hls.md has the design.
package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/fetch"
	"github.com/relaymesh/relaymesh/origin"
)

// Origin is what the edge needs from the origin.
type Origin interface {
	Get(ctx context.Context, key string) (io.ReadCloser, origin.Info, error)
}

// Config configures a Server.
type Config struct {
	Cache  *cache.Cache
	Origin Origin
	Logger *slog.Logger
	// MaxObjectBytes bounds what one fill reads from the origin; larger
	// objects are refused (502) rather than buffered.
	MaxObjectBytes int64
	// PlaylistMaxAge is the Cache-Control max-age of live playlists.
	PlaylistMaxAge time.Duration
	// Mesh and Opener, when set, make misses fill from the key's owner
	// edge (mesh-wide coalescing, see mesh.go); ShieldRegion, when set, makes
	// region owners fill from the shield region's owner.
	Mesh         Mesh
	Opener       fetch.Opener
	ShieldRegion string
	// CachedOpener, when set with Mesh, opens fetch-cached streams
	// (link.KindFetchCached): segments of live streams are then asked of
	// their ingest node first (source.go).
	CachedOpener fetch.Opener
	// CacheName names this cache in the Cache-Status header (RFC 9211).
	// Default "relaymesh"; nodes use their name.
	CacheName string
	// StaleWait is how long a playlist request waits for a fresh copy when
	// an expired one is at hand: past it, or at once when the fill fails,
	// the expired copy is served (marked stale in Cache-Status) and the
	// fill goes on for later requests. Default 1 s: well over a healthy
	// fill even through a shield region, well under a player's patience.
	StaleWait time.Duration
	// Streams are the streams this edge knows of without asking: the
	// ingest stream keys' names. Players' misses of their segments are
	// filled whatever the edge has seen of them; other streams' segments
	// only once a playlist lists them or an ingest node announces the
	// stream (known.go).
	Streams []string
	// NotFoundTTL is how long a 404 from the origin (or a peer, for it)
	// is remembered and answered without asking again (guard.go).
	// Default 3 s; negative turns it off.
	NotFoundTTL time.Duration
	// MaxOriginRequests caps this edge's origin requests in flight; over
	// it a fill is refused at once with 503 (guard.go). Default 64.
	MaxOriginRequests int
}

// Server answers GET and HEAD /hls/{stream}/{path...}.
type Server struct {
	cfg      Config
	log      *slog.Logger
	counters Counters
	watched  recent[struct{}] // streams with players here: prefetch.go
	sources  recent[string]   // stream -> its ingest node: source.go

	// What the origin is asked for, and how much at once: known.go, guard.go.
	streams      atomic.Pointer[map[string]struct{}] // Config.Streams, or SetStreams
	listed       listings
	notFound     notFoundCache
	slots        chan struct{} // one per origin request in flight
	unknownSlots chan struct{} // the part of slots unknown streams may take
}

// New builds a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Cache == nil || cfg.Origin == nil {
		return nil, errors.New("hls: Cache and Origin are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxObjectBytes <= 0 {
		cfg.MaxObjectBytes = 64 << 20
	}
	if cfg.PlaylistMaxAge <= 0 {
		cfg.PlaylistMaxAge = time.Second
	}
	if cfg.CacheName == "" {
		cfg.CacheName = "relaymesh"
	}
	if cfg.StaleWait <= 0 {
		cfg.StaleWait = time.Second
	}
	if cfg.NotFoundTTL == 0 {
		cfg.NotFoundTTL = 3 * time.Second
	}
	if cfg.MaxOriginRequests <= 0 {
		cfg.MaxOriginRequests = 64
	}
	s := &Server{cfg: cfg, log: cfg.Logger,
		watched: recent[struct{}]{window: watchWindow}, sources: recent[string]{window: sourceTTL},
		notFound:     notFoundCache{ttl: cfg.NotFoundTTL},
		slots:        make(chan struct{}, cfg.MaxOriginRequests),
		unknownSlots: make(chan struct{}, max(1, cfg.MaxOriginRequests/8)),
	}
	s.SetStreams(cfg.Streams)
	return s, nil
}

// Routes registers the HLS endpoints.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /hls/{stream}/{path...}", s.handle)
	mux.HandleFunc("HEAD /hls/{stream}/{path...}", s.handle)
	mux.HandleFunc("OPTIONS /hls/{stream}/{path...}", s.preflight)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	stream, p := r.PathValue("stream"), r.PathValue("path")
	key, err := hlskey.Join(stream, p)
	if err != nil {
		httpError(w, http.StatusBadRequest, "bad_path", err.Error())
		return
	}
	ctype, immutable, ok := hlskey.KindOf(p)
	if !ok {
		httpError(w, http.StatusNotFound, "not_hls", fmt.Sprintf("%q is not a playlist or media segment", p))
		return
	}
	// With an expired copy at hand, wait for a fresh one only so long.
	ctx := r.Context()
	stale, hasStale := cache.Entry{}, false
	if !immutable {
		if stale, hasStale = s.cfg.Cache.Stale(key); hasStale {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.cfg.StaleWait)
			defer cancel()
		}
	}
	e, outcome, err := s.cfg.Cache.FillOutcome(ctx, key, func(ctx context.Context) (cache.Entry, error) {
		if !s.mayFill(key, immutable) {
			s.counters.UnknownRefused.Add(1)
			return cache.Entry{}, errUnknown
		}
		return s.fillKey(ctx, key, ctype, immutable, false)
	})
	if err != nil && hasStale && r.Context().Err() == nil && !errors.Is(err, origin.ErrNotFound) && !errors.Is(err, errTooLarge) {
		// Stale if error (RFC 5861): the old playlist beats an error; the
		// player retries and picks up the fresh one when the fill lands.
		s.counters.StaleServed.Add(1)
		s.log.Debug("serving a stale playlist", "key", key, "expired", time.Since(stale.Expires).Round(time.Millisecond), "err", err)
		s.watched.note(stream, struct{}{})
		ttl := int(time.Until(stale.Expires).Seconds()) - 1 // negative: seconds past freshness
		s.serve(w, r, stale, ctype, immutable, fmt.Sprintf("%s; hit; ttl=%d; detail=origin-unavailable", s.cfg.CacheName, ttl))
		return
	}
	if err != nil {
		s.fillFailed(w, r, key, err)
		return
	}
	if !immutable {
		s.watched.note(stream, struct{}{})
	}
	status := s.cfg.CacheName + "; hit"
	switch outcome {
	case cache.Filled:
		status = s.cfg.CacheName + "; fwd=miss"
	case cache.Collapsed:
		status = s.cfg.CacheName + "; fwd=miss; collapsed"
	}
	s.serve(w, r, e, ctype, immutable, status)
}

// fillFailed answers a request whose fill failed with err.
func (s *Server) fillFailed(w http.ResponseWriter, r *http.Request, key string, err error) {
	switch {
	case errors.Is(err, origin.ErrNotFound):
		// One answer for a key the origin does not have and a segment of
		// a stream the edge does not know (errUnknown), so that it does
		// not tell which streams exist.
		httpError(w, http.StatusNotFound, "not_found", key+" not found")
	case errors.Is(err, errOriginBusy):
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "origin_busy", "too many requests to the origin; retry")
	case errors.Is(err, origin.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		httpError(w, http.StatusGatewayTimeout, "origin_unavailable", "origin unavailable and not cached here")
	case errors.Is(err, errTooLarge):
		httpError(w, http.StatusBadGateway, "too_large", err.Error())
	case r.Context().Err() != nil:
		// the player went away
	default:
		s.log.Warn("hls fill failed", "key", key, "err", err)
		httpError(w, http.StatusBadGateway, "origin_error", "origin error")
	}
}

// serve writes entry e as the answer to r; cacheStatus is the value of
// the Cache-Status header (RFC 9211): how this edge's cache answered.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, e cache.Entry, ctype string, immutable bool, cacheStatus string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Status", cacheStatus)
	if e.ETag != "" {
		h.Set("ETag", `"`+e.ETag+`"`)
	}
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.cfg.PlaylistMaxAge.Seconds())))
	}
	// ServeContent does ranges (206, 416 for bad ones), If-None-Match,
	// If-Modified-Since and HEAD; limitRanges first takes away the
	// multi-range requests that would amplify the body.
	limitRanges(r, int64(len(e.Body)))
	http.ServeContent(w, r, "", e.Stored, bytes.NewReader(e.Body))
}

var errTooLarge = errors.New("object too large for the edge")

func (s *Server) fill(ctx context.Context, key, ctype string, immutable bool) (cache.Entry, error) {
	// Segments got here past mayFill (or from a peer that checked it);
	// playlists of streams the edge does not know take the small share.
	stream := hlskey.Stream(key)
	release, err := s.originSlot(immutable || s.knownStream(stream))
	if err != nil {
		return cache.Entry{}, err
	}
	defer release()
	s.counters.of(immutable).OriginGets.Add(1)
	body, info, err := s.cfg.Origin.Get(ctx, key)
	if err != nil {
		return cache.Entry{}, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, s.cfg.MaxObjectBytes+1))
	if err != nil {
		return cache.Entry{}, fmt.Errorf("hls: read %s from origin: %w", key, err)
	}
	if int64(len(data)) > s.cfg.MaxObjectBytes {
		return cache.Entry{}, fmt.Errorf("%w: %s is over %d bytes", errTooLarge, key, s.cfg.MaxObjectBytes)
	}
	stored := info.LastModified
	if stored.IsZero() {
		stored = time.Now()
	}
	e := cache.Entry{Key: key, Body: data, Meta: cache.Meta{
		ContentType: ctype, ETag: info.ETag, Stored: stored.UTC().Truncate(time.Second), Immutable: immutable,
	}}
	if !immutable {
		// A playlist's version is when we fetched it: a live playlist
		// changes every segment, whatever the origin's clock says.
		e.Stored = time.Now().UTC()
		e.Expires = time.Now().Add(s.cfg.PlaylistMaxAge)
	}
	return e, nil // Fill stores it
}

func (s *Server) preflight(w http.ResponseWriter, _ *http.Request) {
	setCORS(w.Header())
	w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// setCORS lets browser players on any origin read playlists and segments,
// and tells browsers to take every answer (error bodies too) for what its
// Content-Type says, not sniff it into something runnable.
func setCORS(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Cache-Status")
}

// httpError answers {"error": code, "message": msg}, encoded by
// encoding/json: Go's %q is not JSON (it writes \U0001xxxx and \x..
// escapes), and keys may hold any printable rune.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}
