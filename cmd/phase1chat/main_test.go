package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/chat/bench"
	"github.com/relaymesh/relaymesh/node/chat/fan"
	"github.com/relaymesh/relaymesh/node/chat/wire"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

// startRedis runs a real redis-server on a free loopback port, without
// persistence, in a temp dir; it is stopped at the end of the test.
// The test skips unless RELAYMESH_REDIS=1 (CI sets it; .ci/redis.sh
// installs Debian's redis-server).
func startRedis(t *testing.T) string {
	t.Helper()
	if os.Getenv("RELAYMESH_REDIS") != "1" {
		t.Skip("set RELAYMESH_REDIS=1 to run against a real redis-server (bash .ci/redis.sh installs it)")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("RELAYMESH_REDIS=1 but: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	nodetest.WaitFor(t, 10*time.Second, "redis-server answers PING", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err() == nil
	})
	return addr
}

// startServer runs one phase-1 server in-process until the test ends.
func startServer(t *testing.T, name, redisAddr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, newServer(name, "local", rdb, nodetest.Logger(t, slog.LevelWarn))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %s: %v", name, err)
		}
		rdb.Close()
	})
	return "http://" + ln.Addr().String()
}

func readUntil[F wire.ServerFrame](ctx context.Context, t *testing.T, f *fan.Fan) F {
	t.Helper()
	for {
		fr, err := f.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a %T: %v", *new(F), err)
		}
		if v, ok := fr.(F); ok {
			return v
		}
	}
}

// TestPhase1Protocol: the peer speaks relaymesh's fan-facing shape.
// A fan on one server publishes; fans on both servers get the message with
// the first server's id, relayed through Redis.
func TestPhase1Protocol(t *testing.T) {
	raddr := startRedis(t)
	a, b := startServer(t, "p1-1", raddr), startServer(t, "p1-2", raddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	resp, err := http.Get(a + "/v1/chat/ws?room=Bad%20Room")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("bad_room")) {
		t.Errorf("bad room: %s %s", resp.Status, body)
	}

	fa, err := fan.Dial(ctx, a, "lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.CloseNow()
	fb, err := fan.Dial(ctx, b, "lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.CloseNow()
	for _, f := range []*fan.Fan{fa, fb} {
		if s := readUntil[wire.Synced](ctx, t, f); !s.Complete || s.Replayed != 0 {
			t.Errorf("synced %+v", s)
		}
	}
	if err := fa.Publish(ctx, "hello", "n-1"); err != nil {
		t.Fatal(err)
	}
	want := wire.ID{Origin: "p1-1", Seq: 1}
	// The publisher gets its ack and its message, in either order.
	var acked, got bool
	for !acked || !got {
		fr, err := fa.Read(ctx)
		if err != nil {
			t.Fatalf("publisher: ack %v, message %v: %v", acked, got, err)
		}
		switch v := fr.(type) {
		case wire.Ack:
			acked = true
			if v.Nonce != "n-1" || v.ID != want {
				t.Errorf("ack %+v, want nonce n-1 and id %v", v, want)
			}
		case wire.Message:
			got = true
			if v.ID != want || v.Text != "hello" {
				t.Errorf("message %+v", v)
			}
		}
	}
	if m := readUntil[wire.Message](ctx, t, fb); m.ID != want || m.Text != "hello" || m.Room != "lobby" || m.Region != "local" {
		t.Errorf("message on the other server %+v", m)
	}
	if err := fb.WriteRaw(ctx, fan.Text, []byte(`{"type":"publish","text":""}`)); err != nil {
		t.Fatal(err)
	}
	if e := readUntil[wire.Error](ctx, t, fb); e.Code != wire.CodeEmptyText {
		t.Errorf("empty text: %+v", e)
	}
}

// TestBenchAgainstPhase1 is `relaymesh bench chat --servers` against two
// phase-1 servers: every fan gets every message once, in order.
func TestBenchAgainstPhase1(t *testing.T) {
	raddr := startRedis(t)
	var nodes []benchkit.Node
	for _, name := range []string{"p1-1", "p1-2"} {
		u := startServer(t, name, raddr)
		nodes = append(nodes, benchkit.Node{URL: u, Name: name, Region: "local"})
	}
	cfg := bench.DefaultConfig()
	cfg.Mesh = bench.Mesh{Nodes: nodes}
	cfg.Fans, cfg.Rooms, cfg.Publishers, cfg.Rate = 40, 4, 8, 40
	cfg.Ramp, cfg.Warmup, cfg.Duration, cfg.Drain = 15*time.Second, 300*time.Millisecond, time.Second, 5*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if rep.Connected != cfg.Fans || rep.Total.Delivered == 0 || rep.Total.Lost != 0 ||
		rep.Duplicates != 0 || rep.Gaps != 0 || rep.Reordered != 0 || len(rep.Errors) != 0 {
		t.Errorf("connected %d, delivered %d, lost %d, dups %d, gaps %d, reordered %d, errors %v",
			rep.Connected, rep.Total.Delivered, rep.Total.Lost, rep.Duplicates, rep.Gaps, rep.Reordered, rep.Errors)
	}
}

// TestBadFlags: a bad name is refused before anything starts.
func TestBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"--name", "P1_1"}, &stderr); code != 2 || !bytes.Contains(stderr.Bytes(), []byte("bad --name")) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"--redis", "127.0.0.1:1"}, &stderr); code != 1 || !bytes.Contains(stderr.Bytes(), []byte("redis at 127.0.0.1:1")) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
