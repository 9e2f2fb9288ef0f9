package wan

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer answers every line with the same line until the client
// closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// proxied starts a proxy to target with the given one-way delay, closed
// when the test ends, and dials it.
func proxied(t *testing.T, target string, oneWay time.Duration) (*Proxy, net.Conn) {
	t.Helper()
	p, err := StartProxy("127.0.0.1:0", target, oneWay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

func TestProxyDelaysEachDirection(t *testing.T) {
	const oneWay = 40 * time.Millisecond
	_, c := proxied(t, echoServer(t), oneWay)
	r := bufio.NewReader(c)
	for i := range 3 {
		start := time.Now()
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2*oneWay + slack))
		line, err := r.ReadString('\n')
		if err != nil || line != "ping\n" {
			t.Fatalf("round trip %d: %q, %v", i, line, err)
		}
		rtt := time.Since(start)
		if rtt < 2*oneWay {
			t.Errorf("round trip %d took %v, want >= %v (two one-way delays)", i, rtt, 2*oneWay)
		}
		t.Logf("round trip %d: %v (configured one-way %v)", i, rtt, oneWay)
	}
}

// A large transfer keeps its bytes and order: the delay is latency, not a
// bandwidth limit or a reordering.
func TestProxyKeepsBytesInOrder(t *testing.T) {
	_, c := proxied(t, echoServer(t), 5*time.Millisecond)
	var want strings.Builder
	for i := range 20000 {
		want.WriteString(strings.Repeat(string(rune('a'+i%26)), 50))
	}
	go func() { _, _ = io.WriteString(c, want.String()); _ = c.(*net.TCPConn).CloseWrite() }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != want.String() {
		t.Fatalf("echoed %d bytes (err %v), want the %d sent, in order", len(got), err, want.Len())
	}
}

// Close ends every connection and returns once the proxy's goroutines
// are gone (main_test checks for leaks); a refused target closes the
// client's connection.
func TestProxyCloseAndRefusedTarget(t *testing.T) {
	p, c := proxied(t, echoServer(t), time.Millisecond)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadAll(c); isTimeout(err) {
		t.Fatal("after Close the client's connection is still open")
	} // EOF, or a reset: the proxy closed with the client's byte unread

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	_ = ln.Close()
	_, c2 := proxied(t, dead, time.Millisecond)
	_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadAll(c2); isTimeout(err) {
		t.Fatal("refused target: the client's connection is still open")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
