package chat

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestSendDoesNotAllocate: handing a frame to a fan whose socket takes it
// is the hot path (one call per fan per message), and it must not
// allocate: garbage made there, 50,000 times a second at 5,000 fans, is
// what the collector then spends the node's CPU on.
func TestSendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, client) }() // ends when client closes

	c := newFanConn(server, nil, 1<<20, time.Second)
	defer c.abort()
	if c.raw == nil {
		t.Fatal("a TCP connection should have a raw descriptor")
	}
	frame := serverFrame([]byte(`{"type":"message","text":"hello"}`))
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.send(frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("send allocates %.1f times per call, want 0", allocs)
	}
	if c.writes.Load() < 1000 {
		t.Errorf("%d socket writes for 1001 sends: frames went to the pending buffer, not the socket", c.writes.Load())
	}
}

// TestFramePayload: the payload comes back whole from frames with each of
// the three header sizes.
func TestFramePayload(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 1000, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{'x'}, n)
		if n > 0 {
			payload[n-1] = 'y'
		}
		if got := framePayload(serverFrame(payload)); !bytes.Equal(got, payload) {
			t.Errorf("payload of %d bytes: got %d bytes back", n, len(got))
		}
	}
}
