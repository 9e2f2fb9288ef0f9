package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

// slack is what a loaded 2-core machine running the race detector may add
// to a deadline before the cut is observed.
const slack = 3 * time.Second

// metric reads one series of the node's registry, the way /metrics would
// show it, without opening a connection that the caps would count.
func metric(t *testing.T, n *Node, name, label, value string) float64 {
	t.Helper()
	mfs, err := n.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || hasLabel(m, label, value) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// dialFrom opens a raw TCP connection to n's HTTP port from the loopback
// address from (every 127.0.0.0/8 address is local on Linux).
func dialFrom(t *testing.T, n *Node, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", n.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readUntilClosed reads c until the server closes it (with a generous
// client-side deadline) and returns what it sent and how long after start
// it closed.
func readUntilClosed(t *testing.T, c net.Conn, start time.Time) (string, time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c)
	if errors.Is(err, syscall.ECONNRESET) && len(b) > 0 {
		err = nil // the server closed with our bytes unread: a reset after its answer
	}
	if err != nil {
		t.Fatalf("the server did not close the connection: %v (read %q)", err, b)
	}
	return string(b), time.Since(start)
}

func within(t *testing.T, what string, got, deadline time.Duration) {
	t.Helper()
	if got < deadline || got > deadline+slack {
		t.Fatalf("%s cut after %v, want within [%v, %v]", what, got, deadline, deadline+slack)
	}
}

func deadlineConfig(t *testing.T) config.Config {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.HTTP.ReadHeaderTimeout = 700 * time.Millisecond
	cfg.HTTP.ReadTimeout = 700 * time.Millisecond
	cfg.HTTP.WriteTimeout = 700 * time.Millisecond
	cfg.HTTP.IdleTimeout = 500 * time.Millisecond
	cfg.Ingest.StreamKeys = map[string]string{"live": "0123456789abcdef-live"}
	cfg.Ingest.MinUploadRate = 1000
	cfg.Ingest.UploadRateWindow = 900 * time.Millisecond
	return cfg
}

// A body that stalls (Content-Length: 100000 and one byte) is cut at
// http.read_timeout, even on /healthz, which never reads it.
func TestBodyStallIsCut(t *testing.T) {
	cfg := deadlineConfig(t)
	n := startNode(t, cfg)
	start := time.Now()
	c := dialFrom(t, n, "127.0.0.1")
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	_, elapsed := readUntilClosed(t, c, start)
	within(t, "a stalled body", elapsed, cfg.HTTP.ReadTimeout)
	nodetest.WaitFor(t, 5*time.Second, "the read timeout counted", func() bool {
		return metric(t, n, "relaymesh_http_timeouts_total", "kind", "read") == 1
	})
}

// A keep-alive connection that sends no next request is closed after
// http.idle_timeout.
func TestIdleKeepAliveIsCut(t *testing.T) {
	cfg := deadlineConfig(t)
	n := startNode(t, cfg)
	c := dialFrom(t, n, "127.0.0.1")
	start := time.Now()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("healthz: %d, close %v; want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Fatalf("X-Content-Type-Options %q, want nosniff", got)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the response: %q, %v; want EOF", rest, err)
	}
	within(t, "an idle keep-alive", time.Since(start), cfg.HTTP.IdleTimeout)
	nodetest.WaitFor(t, 5*time.Second, "the idle timeout counted", func() bool {
		return metric(t, n, "relaymesh_http_timeouts_total", "kind", "idle") == 1
	})
	if v := metric(t, n, "relaymesh_http_timeouts_total", "kind", "read"); v != 0 {
		t.Fatalf("read timeouts %v after an idle cut, want 0", v)
	}
}

// A streamer trickling a segment (a byte every 100 ms against a minimum of
// 1000 B/s) is cut one upload window after it started, although uploads
// are exempt from http.read_timeout.
func TestSlowUploadIsCut(t *testing.T) {
	cfg := deadlineConfig(t)
	n := startNode(t, cfg)
	c := dialFrom(t, n, "127.0.0.1")
	start := time.Now()
	if _, err := io.WriteString(c, "PUT /ingest/live/seg1.ts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer 0123456789abcdef-live\r\n"+
		"Content-Length: 60000\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // ends with the test (cancel) or the connection
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	answer, elapsed := readUntilClosed(t, c, start)
	if !strings.HasPrefix(answer, "HTTP/1.1 408") {
		t.Fatalf("answer %q, want 408", answer)
	}
	within(t, "a slow upload", elapsed, cfg.Ingest.UploadRateWindow)
	if v := metric(t, n, "relaymesh_ingest_events_total", "event", "slow_upload_cut"); v != 1 {
		t.Fatalf("slow_upload_cut %v, want 1", v)
	}
}

// A WebSocket outlives every server-wide deadline: the server clears them
// at the hijack.
func TestWebSocketIsExemptFromServerDeadlines(t *testing.T) {
	cfg := deadlineConfig(t)
	n := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+n.HTTPAddr()+"/v1/chat/ws?room=lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// Read (and drop) what the chat sends for twice the longest deadline.
	rctx, rcancel := context.WithTimeout(ctx, 2*cfg.HTTP.ReadTimeout)
	defer rcancel()
	for {
		if _, _, err := ws.Read(rctx); err != nil {
			if rctx.Err() == nil {
				t.Fatalf("the WebSocket ended before the read deadline of the test: %v", err)
			}
			break
		}
	}
	// A read cut by its context closes a coder/websocket connection, so
	// check from the server's side that nothing cut it: no read timeout.
	if v := metric(t, n, "relaymesh_http_timeouts_total", "kind", "read"); v != 0 {
		t.Fatalf("read timeouts %v, want 0", v)
	}
}

// Connections over the per-IP cap get a 503 with Retry-After; other
// addresses are still served, and a freed slot is reused.
func TestPerIPCapRefusesTheExcess(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.HTTP.MaxConnsPerIP = 2
	cfg.HTTP.RetryAfter = 7 * time.Second
	n := startNode(t, cfg)
	first := dialFrom(t, n, "127.0.0.1")
	dialFrom(t, n, "127.0.0.1")
	nodetest.WaitFor(t, 5*time.Second, "two connections open", func() bool {
		return metric(t, n, "relaymesh_http_connections", "", "") == 2
	})
	refused := dialFrom(t, n, "127.0.0.1")
	_, _ = io.WriteString(refused, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	expectRefusal(t, refused, "7")
	if v := metric(t, n, "relaymesh_http_connections_total", "result", "refused_per_ip"); v != 1 {
		t.Fatalf("refused_per_ip %v, want 1", v)
	}
	expectServed(t, dialFrom(t, n, "127.0.0.2"))

	_ = first.Close()
	nodetest.WaitFor(t, 5*time.Second, "the closed connection's slot given back", func() bool {
		return metric(t, n, "relaymesh_http_connections", "", "") == 2 // the second and 127.0.0.2's
	})
	expectServed(t, dialFrom(t, n, "127.0.0.1"))
}

// Connections over the per-node cap get a 503 with Retry-After, whatever
// their address.
func TestPerNodeCapRefusesTheExcess(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.HTTP.MaxConns = 3
	n := startNode(t, cfg)
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		dialFrom(t, n, ip)
	}
	nodetest.WaitFor(t, 5*time.Second, "three connections open", func() bool {
		return metric(t, n, "relaymesh_http_connections", "", "") == 3
	})
	refused := dialFrom(t, n, "127.0.0.4")
	_, _ = io.WriteString(refused, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	expectRefusal(t, refused, "5")
	if v := metric(t, n, "relaymesh_http_connections_total", "result", "refused_per_node"); v != 1 {
		t.Fatalf("refused_per_node %v, want 1", v)
	}
	if v := metric(t, n, "relaymesh_http_connection_limit", "scope", "per_node"); v != 3 {
		t.Fatalf("per_node limit %v, want 3", v)
	}
}

func expectRefusal(t *testing.T, c net.Conn, retryAfter string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a refused connection: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != retryAfter ||
		!strings.Contains(string(body), `"error":"overloaded"`) {
		t.Fatalf("refusal: %d Retry-After %q %s; want 503 with Retry-After %s", resp.StatusCode, resp.Header.Get("Retry-After"), body, retryAfter)
	}
}

func expectServed(t *testing.T, c net.Conn) {
	t.Helper()
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d, want 200", resp.StatusCode)
	}
}
