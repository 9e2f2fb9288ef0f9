// Package ingest accepts a streamer's HLS at any node: PUT and DELETE under
// /ingest/{stream}/{path...}, as `ffmpeg -f hls -method PUT` sends them,
// authorised per stream with a bearer key. Every object goes through the
// durable spool (node/ingest/spool) to the origin in order; the streamer
// is answered 201/204 once the origin has it, or 202 once it is safely on
// local disk when the origin is slow or down.
package ingest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/node/hls"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/origin"
)

// Origin is what the uploader needs from the origin.
type Origin interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (origin.Info, error)
	Delete(ctx context.Context, key string) error
}

// Config configures the ingest service.
type Config struct {
	Keys             map[string]string // stream -> bearer key
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
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts the uploader that drains the spool into the origin.
func Start(cfg Config) (*Service, error) {
	if cfg.Spool == nil || cfg.Origin == nil || cfg.Cache == nil {
		return nil, errors.New("ingest: Spool, Origin and Cache are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
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

// apply sends one spooled op to the origin. The spool retries a failure
// forever, in order: a configuration error (say, access denied) holds the
// queue until ops fix it, rather than losing or reordering a stream.
func (s *Service) apply(ctx context.Context, op spool.Op) error {
	var err error
	switch op.Kind {
	case spool.KindPut:
		_, err = s.cfg.Origin.Put(ctx, op.Key, bytes.NewReader(op.Body), int64(len(op.Body)), op.ContentType)
	case spool.KindDelete:
		err = s.cfg.Origin.Delete(ctx, op.Key)
	}
	if err != nil {
		s.log.Warn("origin write failed; will retry", "key", op.Key, "waiting", s.cfg.Spool.Oldest().Round(time.Second), "err", err)
	}
	return err
}

// Close stops the uploader; what is still spooled stays on disk for the
// next start.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Routes registers the ingest endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /ingest/{stream}/{path...}", s.handle)
	mux.HandleFunc("POST /ingest/{stream}/{path...}", s.handle) // some HLS writers POST
	mux.HandleFunc("DELETE /ingest/{stream}/{path...}", s.handle)
}

func (s *Service) handle(w http.ResponseWriter, r *http.Request) {
	stream, p := r.PathValue("stream"), r.PathValue("path")
	want, known := s.cfg.Keys[stream]
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
	key, err := origin.ValidKey(stream, p)
	if err != nil {
		httpError(w, http.StatusBadRequest, "bad_path", err.Error())
		return
	}
	ctype, immutable, ok := hls.KindOf(p)
	if !ok {
		httpError(w, http.StatusBadRequest, "not_hls", fmt.Sprintf("%q is not a playlist or media segment", p))
		return
	}

	var op spool.Op
	if r.Method == http.MethodDelete {
		op = spool.Delete(key)
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxObjectBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			httpError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("objects are limited to %d bytes", s.cfg.MaxObjectBytes))
			return
		case err != nil:
			httpError(w, http.StatusBadRequest, "bad_body", "could not read the body: "+err.Error())
			return
		}
		op = spool.Put(key, ctype, body)
	}
	seq, err := s.cfg.Spool.Append(op)
	switch {
	case errors.Is(err, spool.ErrTooLarge):
		httpError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	case errors.Is(err, spool.ErrFull):
		httpError(w, http.StatusInsufficientStorage, "spool_full", "origin unreachable for too long and the local spool is full")
		return
	case err != nil:
		s.log.Error("spool append failed", "key", key, "err", err)
		httpError(w, http.StatusInternalServerError, "spool_error", "could not store the object")
		return
	}
	s.serveLocally(op, immutable)
	if op.Kind == spool.KindPut && !immutable && s.cfg.OnPlaylist != nil {
		s.cfg.OnPlaylist(op.Key, op.Body)
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

// serveLocally updates this edge's cache, so players here see the pushed
// object before the origin confirms it.
func (s *Service) serveLocally(op spool.Op, immutable bool) {
	if op.Kind == spool.KindDelete {
		s.cfg.Cache.Delete(op.Key)
		return
	}
	now := time.Now().UTC()
	e := cache.Entry{Key: op.Key, Body: op.Body, Meta: cache.Meta{
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
