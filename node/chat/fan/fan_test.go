package fan

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// rawServer accepts one WebSocket connection on loopback and hands it to
// script, which plays the server frame by frame.
func rawServer(t *testing.T, script func(conn net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := ws.Upgrade(conn); err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		script(conn, bufio.NewReader(conn))
	}()
	return "http://" + ln.Addr().String()
}

func dial(t *testing.T, base string) *Fan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := Dial(ctx, base, "stage", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.CloseNow() })
	return f
}

func message(t *testing.T, seq uint64, text string) []byte {
	t.Helper()
	b, err := wire.Encode(wire.Message{ID: wire.ID{Origin: "seoul-1", Seq: seq}, Room: "stage", User: "u", Text: text,
		TS: time.Unix(1, 0).UTC(), Region: "seoul"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readClient reads one frame the client sent, unmasked.
func readClient(t *testing.T, br *bufio.Reader) ws.Frame {
	t.Helper()
	fr, err := ws.ReadFrame(br)
	if err != nil {
		t.Errorf("server read: %v", err)
		return fr
	}
	if !fr.Header.Masked {
		t.Errorf("client frame %v is not masked", fr.Header.OpCode)
	}
	return ws.UnmaskFrameInPlace(fr)
}

// TestReadAssemblesFragmentsAndAnswersPings: a ping between two fragments
// of a message is answered with its payload, and the fragments come out as
// one message that advances Since.
func TestReadAssemblesFragmentsAndAnswersPings(t *testing.T) {
	pong := make(chan string, 1)
	base := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		msg := message(t, 7, "hello")
		half := len(msg) / 2
		for _, fr := range []ws.Frame{
			ws.NewFrame(ws.OpText, false, msg[:half]),
			ws.NewPingFrame([]byte("p1")),
			ws.NewFrame(ws.OpContinuation, true, msg[half:]),
		} {
			if err := ws.WriteFrame(conn, fr); err != nil {
				t.Errorf("server write: %v", err)
				return
			}
		}
		fr := readClient(t, br)
		if fr.Header.OpCode != ws.OpPong {
			t.Errorf("client answered the ping with %v", fr.Header.OpCode)
		}
		pong <- string(fr.Payload)
	})
	f := dial(t, base)
	fr, err := f.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m, ok := fr.(wire.Message)
	if !ok || m.Text != "hello" || m.ID.Seq != 7 {
		t.Fatalf("read %#v, want message 7 \"hello\"", fr)
	}
	if got := f.Since["seoul-1"]; got != 7 {
		t.Errorf("Since[seoul-1] = %d, want 7", got)
	}
	select {
	case p := <-pong:
		if p != "p1" {
			t.Errorf("pong payload %q, want p1", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong within 5 s")
	}
}

// TestCloseFrameIsReportedAndEchoed: the server's close code reaches the
// caller (how a fan learns it was too slow: 1008), and the fan echoes it.
func TestCloseFrameIsReportedAndEchoed(t *testing.T) {
	echoed := make(chan ws.StatusCode, 1)
	base := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		_ = ws.WriteFrame(conn, ws.NewCloseFrame(ws.NewCloseFrameBody(wire.CloseStatus, "too_slow")))
		fr := readClient(t, br)
		code, _ := ws.ParseCloseFrameData(fr.Payload)
		echoed <- code
	})
	f := dial(t, base)
	_, err := f.Read(context.Background())
	if CloseStatus(err) != wire.CloseStatus {
		t.Fatalf("Read error %v: close status %d, want %d", err, CloseStatus(err), wire.CloseStatus)
	}
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Reason != "too_slow" {
		t.Errorf("close reason of %v, want too_slow", err)
	}
	select {
	case code := <-echoed:
		if code != wire.CloseStatus {
			t.Errorf("fan echoed close %d, want %d", code, wire.CloseStatus)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no close echo within 5 s")
	}
	if CloseStatus(errors.New("eof")) != -1 {
		t.Error("CloseStatus of a plain error is not -1")
	}
}

// TestBadServerInput: a frame that does not decode leaves the connection
// good; an oversized message, a masked server frame and a bad fragment
// sequence each end the connection with an error.
func TestBadServerInput(t *testing.T) {
	t.Run("undecodable frame", func(t *testing.T) {
		base := rawServer(t, func(conn net.Conn, _ *bufio.Reader) {
			_ = ws.WriteFrame(conn, ws.NewTextFrame([]byte(`{"type":"shout"}`)))
			_ = ws.WriteFrame(conn, ws.NewTextFrame(message(t, 1, "after")))
		})
		f := dial(t, base)
		if _, err := f.Read(context.Background()); !errors.Is(err, ErrBadFrame) || !errors.Is(err, wire.ErrUnknownFrame) {
			t.Fatalf("Read = %v, want ErrBadFrame wrapping wire.ErrUnknownFrame", err)
		}
		fr, err := f.Read(context.Background())
		if m, ok := fr.(wire.Message); err != nil || !ok || m.Text != "after" {
			t.Fatalf("next Read = %#v, %v; want the message after", fr, err)
		}
	})
	for _, tc := range []struct {
		name  string
		write func(conn net.Conn)
	}{
		{"oversized message", func(conn net.Conn) {
			_ = ws.WriteHeader(conn, ws.Header{Fin: true, OpCode: ws.OpText, Length: MaxMessageBytes + 1})
		}},
		{"oversized in fragments", func(conn net.Conn) {
			chunk := make([]byte, MaxMessageBytes/2+1)
			_ = ws.WriteFrame(conn, ws.NewFrame(ws.OpText, false, chunk))
			_ = ws.WriteFrame(conn, ws.NewFrame(ws.OpContinuation, true, chunk))
		}},
		{"masked server frame", func(conn net.Conn) {
			_ = ws.WriteFrame(conn, ws.MaskFrame(ws.NewTextFrame(message(t, 1, "x"))))
		}},
		{"continuation first", func(conn net.Conn) {
			_ = ws.WriteFrame(conn, ws.NewFrame(ws.OpContinuation, true, []byte("{}")))
		}},
		{"long ping", func(conn net.Conn) {
			_ = ws.WriteFrame(conn, ws.NewPingFrame(make([]byte, 126)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
				tc.write(conn)
				_, _ = br.ReadByte() // until the fan hangs up
			})
			f := dial(t, base)
			fr, err := f.Read(context.Background())
			if err == nil || errors.Is(err, ErrBadFrame) {
				t.Fatalf("Read = %#v, %v; want an error that ends the connection", fr, err)
			}
			if _, err := f.Read(context.Background()); err == nil {
				t.Error("the connection still reads after a protocol error")
			}
		})
	}
}

// TestReadStopsWhenItsContextEnds: a Read blocked on a silent server
// returns the context's error.
func TestReadStopsWhenItsContextEnds(t *testing.T) {
	base := rawServer(t, func(_ net.Conn, br *bufio.Reader) { _, _ = br.ReadByte() })
	f := dial(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %v, want context.DeadlineExceeded", err)
	}
}

// TestPublishIsOneMaskedTextFrame: what the server receives from Publish,
// then the normal close of Close.
func TestPublishIsOneMaskedTextFrame(t *testing.T) {
	got := make(chan []ws.Frame, 1)
	base := rawServer(t, func(_ net.Conn, br *bufio.Reader) {
		got <- []ws.Frame{readClient(t, br), readClient(t, br)}
	})
	f := dial(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Publish(ctx, "hi there", "n1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	frames := <-got
	var pub map[string]string
	if frames[0].Header.OpCode != ws.OpText || json.Unmarshal(frames[0].Payload, &pub) != nil ||
		pub["type"] != wire.TypePublish || pub["text"] != "hi there" || pub["nonce"] != "n1" {
		t.Errorf("publish frame %v %q", frames[0].Header.OpCode, frames[0].Payload)
	}
	if code, _ := ws.ParseCloseFrameData(frames[1].Payload); frames[1].Header.OpCode != ws.OpClose || code != ws.StatusNormalClosure {
		t.Errorf("close frame %v code %d, want close 1000", frames[1].Header.OpCode, code)
	}
}

// TestDialReportsTheRefusal: a server that refuses the upgrade is named
// with its status (a client must tell 503 from 429 from 404).
func TestDialReportsTheRefusal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Dial(ctx, "http://"+ln.Addr().String(), "stage", nil)
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") {
		t.Fatalf("Dial = %v, want an error naming 503 Service Unavailable", err)
	}
}
