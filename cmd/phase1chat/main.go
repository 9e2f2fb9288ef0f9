// Command phase1chat is the benchmark peer for relaymesh's chat: a small,
// naive but honest implementation of the platform's phase-1 chat stack
// (../../shared/BRIEF.md, "The stack to beat"): Go servers with
// gorilla/websocket, fanned out over one Redis Pub/Sub, one Redis channel
// per room. Run several (one process each, so each has its own open-file
// limit) against one redis-server, and drive them with
// `relaymesh bench chat --servers URL,URL,...`.
//
// It speaks the fan-facing shape of relaymesh's protocol
// (docs/chat-protocol.md), encoded by package node/chat/wire so frames are
// byte-compatible: GET /v1/chat/ws?room=R, publish with a nonce answered by
// an ack with the id, message frames with ids <server>.<seq> from a
// per-server counter, and a synced frame right after the upgrade (an empty
// replay: there is no history). It has no durability, history, resume,
// presence, identity or rate limit: it is the fast path only, which is what
// the comparison measures.
//
//	phase1chat --listen 127.0.0.1:9001 --name p1-1 --redis 127.0.0.1:6379
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("phase1chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9001", "HTTP address for fans")
	name := fs.String("name", "p1-1", "server name: the origin part of message ids (a DNS label)")
	region := fs.String("region", "local", "region written into messages")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "redis-server address")
	pool := fs.Int("redis-pool", 64, "Redis connections for PUBLISH")
	keepAlive := fs.Duration("tcp-keepalive", 0, "TCP keep-alive period of fans' connections: 0 is Go's default (15 s), negative turns it off (100,000 loopback connections' probes overflow the kernel's backlog on one box)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := (wire.ID{Origin: *name, Seq: 1}).Valid(); err != nil {
		fmt.Fprintf(stderr, "phase1chat: bad --name %q: %v\n", *name, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("server", *name)
	redis.SetLogger(redisLog{log.With("component", "redis")})
	if _, err := benchkit.RaiseFileLimit(1024); err != nil {
		log.Warn("file limit", "err", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: *pool})
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "phase1chat: redis at %s: %v\n", *redisAddr, err)
		return 1
	}

	ln, err := (&net.ListenConfig{KeepAlive: *keepAlive}).Listen(ctx, "tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "phase1chat: %v\n", err)
		return 1
	}
	if err := serve(ctx, ln, newServer(*name, *region, rdb, log)); err != nil {
		fmt.Fprintf(stderr, "phase1chat: %v\n", err)
		return 1
	}
	return 0
}

// serve runs s on ln until ctx ends, then closes every connection.
// Hijacked WebSockets are not tracked by http.Server, so closing the
// listener and cancelling s's subscription ends them: each reader fails on
// its next read once the process exits; in tests, the caller closes them.
func serve(ctx context.Context, ln net.Listener, s *server) error {
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		s.run(subCtx)
	}()
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	s.closeAll()
	stopSub()
	<-subDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// redisLog sends go-redis's own messages (reconnects, pool dial failures)
// to the server's log instead of the standard logger.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...))
}
