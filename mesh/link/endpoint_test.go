package link

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/pki"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testCA is shared by the tests of this file: making a key is the slow part.
var testCA = sync.OnceValue(func() *pki.CA {
	ca, err := pki.NewCA("link test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
})

func newEndpoint(t *testing.T, name string, ca *pki.CA) *Endpoint {
	t.Helper()
	id, err := ca.NewIdentity(name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Conn: pc, ServerTLS: id.ServerTLS(ALPN), ClientTLS: id.ClientTLS(ALPN), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStreamEchoAndPeerName(t *testing.T) {
	a, b := newEndpoint(t, "node-a", testCA()), newEndpoint(t, "node-b", testCA())
	peers := make(chan string, 1)
	b.HandleStream(KindFetch, func(s *Stream) {
		defer s.Close()
		peers <- s.PeerName()
		_, _ = io.Copy(s, s)
	})
	s, err := a.OpenStream(ctxT(t), b.Addr().String(), KindFetch)
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("relaymesh "), 10000) // several packets
	go func() {
		_, _ = s.Write(msg)
		_ = s.Stream.Close() // FIN our side only; keep reading
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(msg))
	}
	if p := <-peers; p != "node-a" {
		t.Fatalf("server saw peer %q, want node-a", p)
	}
	if s.PeerName() != "node-b" {
		t.Fatalf("client saw peer %q, want node-b", s.PeerName())
	}
	_ = s.Close()
}

func TestDatagramsAndOneConnectionPerPeer(t *testing.T) {
	a, b := newEndpoint(t, "node-a", testCA()), newEndpoint(t, "node-b", testCA())
	got := make(chan []byte, 100)
	b.HandleDatagram(KindGossip, func(from net.Addr, p []byte) {
		if from.String() != a.Addr().String() {
			t.Errorf("datagram from %v, want %v", from, a.Addr())
		}
		got <- append([]byte(nil), p...)
	})
	// The first datagrams queue behind the dial and must still arrive.
	for i := 0; i < 5; i++ {
		if err := a.SendDatagram(b.Addr().String(), KindGossip, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A payload too large for a QUIC datagram takes a unidirectional stream.
	big := bytes.Repeat([]byte{7}, 4000)
	if err := a.SendDatagram(b.Addr().String(), KindGossip, big); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < 6 {
		select {
		case p := <-got:
			if len(p) == len(big) {
				seen[-1] = true
			} else {
				seen[int(p[0])] = true
			}
		case <-deadline:
			t.Fatalf("received %v, want 5 small datagrams and the big one", seen)
		}
	}
	if s := a.Stats(); s.Dials != 1 || s.Peers != 1 || s.UniFallbacks != 1 {
		t.Fatalf("stats after sends: %+v; want 1 dial, 1 peer, 1 fallback", s)
	}
	// Replies from b reuse the connection a dialled: no second dial.
	if err := b.SendDatagram(a.Addr().String(), KindGossip, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Dials != 0 {
		t.Fatalf("b dialled %d times, want to reuse the accepted connection", s.Dials)
	}
}

func TestRejectsPeerFromAnotherCA(t *testing.T) {
	other, err := pki.NewCA("intruder CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t, "intruder", other), newEndpoint(t, "node-b", testCA())
	b.HandleStream(KindFetch, func(s *Stream) { _ = s.Close() })
	if _, err := a.OpenStream(ctxT(t), b.Addr().String(), KindFetch); err == nil {
		t.Fatal("stream opened to a node of another cluster CA")
	}
	if s := b.Stats(); s.Peers != 0 {
		t.Fatalf("b accepted %d peers from a foreign CA", s.Peers)
	}
}

func TestUnknownKindIsRefused(t *testing.T) {
	a, b := newEndpoint(t, "node-a", testCA()), newEndpoint(t, "node-b", testCA())
	s, err := a.OpenStream(ctxT(t), b.Addr().String(), KindLeaf) // b has no leaf handler
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on a refused stream succeeded")
	}
	if b.Stats().StreamsRefused != 1 {
		t.Fatalf("refused streams = %d, want 1", b.Stats().StreamsRefused)
	}
}

func TestDialFailureIsReportedAndBounded(t *testing.T) {
	a := newEndpoint(t, "node-a", testCA())
	// A bound UDP socket that never answers QUIC.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := a.OpenStream(ctx, dead.LocalAddr().String(), KindFetch); err == nil {
		t.Fatal("stream to a silent address succeeded")
	}
	if _, err := a.OpenStream(ctxT(t), "not an address", KindFetch); err == nil {
		t.Fatal("stream to a malformed address succeeded")
	}
}

func TestCloseIsIdempotentAndStopsSends(t *testing.T) {
	a := newEndpoint(t, "node-a", testCA())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.SendDatagram("127.0.0.1:9", KindGossip, nil); err == nil {
		t.Fatal("send after close succeeded")
	}
}
