// Package devs3 is the embedded S3-compatible origin for `relaymesh dev`
// and tests: a real S3 API (github.com/johannesboyne/gofakes3) over an
// in-memory store, on a loopback port. It is not for production.
package devs3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running embedded S3 origin.
type Server struct {
	gets atomic.Int64 // object GETs served (tests count origin load with it)
	ln   net.Listener
	srv  *http.Server
	wg   sync.WaitGroup
	once sync.Once
}

// Start serves an in-memory S3 API on addr ("127.0.0.1:0" for any port)
// with the given buckets created.
func Start(addr string, log *slog.Logger, buckets ...string) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("devs3: create bucket %q: %w", b, err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(slogAdapter{log}), gofakes3.WithAutoBucket(false))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devs3: listen: %w", err)
	}
	s := &Server{ln: ln}
	fake := faker.Server()
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /bucket/key... with a key: an object request (path-style).
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			s.gets.Add(1)
		}
		fake.ServeHTTP(w, r)
	})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("embedded origin stopped", "err", err)
		}
	}()
	return s, nil
}

// ObjectGets is how many object GETs the server has answered.
func (s *Server) ObjectGets() int64 { return s.gets.Load() }

// Endpoint is host:port of the S3 API.
func (s *Server) Endpoint() string { return s.ln.Addr().String() }

// Close stops the server and waits for it.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
		s.wg.Wait()
	})
	return err
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Print(level gofakes3.LogLevel, v ...any) {
	msg := fmt.Sprint(v...)
	switch level {
	case gofakes3.LogErr:
		a.l.Error(msg)
	case gofakes3.LogWarn:
		a.l.Warn(msg)
	default:
		a.l.Debug(msg)
	}
}
