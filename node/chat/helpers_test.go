package chat

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/relaymesh/relaymesh/node/natsd"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, nodetest.LeakOptions()...)
}

// testService is a chat service on a real embedded NATS server with
// JetStream, served over real HTTP on loopback.
type testService struct {
	svc  *Service
	nats *natsd.Server
	http *httptest.Server
}

func startService(t *testing.T, tune func(*Config)) *testService {
	t.Helper()
	log := nodetest.Logger(t, slog.LevelWarn)
	ns, err := natsd.Start(natsd.Config{Name: "test-1", DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Node: "test-1", Region: "seoul", NATS: ns.Conn(), JetStream: ns.JetStream(), Logger: log,
		HistoryOnJoin: 50, RecoveryWindow: 1000, RecoveryMemory: 512 << 20, Retention: time.Hour,
		RatePerSecond: 1e6, RateBurst: 1e6, MaxTextBytes: 500, MaxFrameBytes: 4096,
		PresenceInterval: time.Second, MaxPendingBytes: 256 << 10, DrainTimeout: 10 * time.Second,
		BatchWindow: 50 * time.Millisecond, PingInterval: 20 * time.Second,
	}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := New(ctx, cfg)
	if err != nil {
		ns.Shutdown(ctx)
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	ts := &testService{svc: svc, nats: ns, http: httptest.NewServer(mux)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ts.http.Close()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		ns.Shutdown(ctx)
	})
	return ts
}

// rawFan is a WebSocket client that reads frames without decoding JSON,
// so that one test can follow thousands of fans at hundreds of messages a
// second. It can stop reading, like a stalled phone.
type rawFan struct {
	conn net.Conn
	br   *bufio.Reader
}

// dialRaw opens a fan connection to room; rcvbuf > 0 shrinks the socket's
// receive buffer (a fan that stops reading fills up sooner).
func dialRaw(t *testing.T, base, room string, rcvbuf int) *rawFan {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if rcvbuf > 0 {
		_ = c.(*net.TCPConn).SetReadBuffer(rcvbuf)
	}
	// Closed with a reset: thousands of test connections must not sit in
	// TIME_WAIT holding ephemeral ports for the next test or run.
	t.Cleanup(func() {
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	})
	req := fmt.Sprintf("GET /v1/chat/ws?room=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", room, addr)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	_ = c.SetReadDeadline(time.Time{})
	return &rawFan{conn: c, br: br}
}

// next reads one frame, within d.
func (f *rawFan) next(d time.Duration) (ws.Header, []byte, error) {
	_ = f.conn.SetReadDeadline(time.Now().Add(d))
	h, err := ws.ReadHeader(f.br)
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(f.br, p)
	return h, p, err
}

// send writes one masked text frame, as a browser would.
func (f *rawFan) send(t *testing.T, text string) {
	t.Helper()
	fr := ws.MaskFrame(ws.NewTextFrame([]byte(text)))
	if err := ws.WriteFrame(f.conn, fr); err != nil {
		t.Fatal(err)
	}
}

// untilSynced reads frames until the synced frame.
func (f *rawFan) untilSynced(t *testing.T) {
	t.Helper()
	for {
		_, p, err := f.next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for synced: %v", err)
		}
		if strings.Contains(string(p), `"type":"synced"`) {
			return
		}
	}
}
