package wan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wan-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestQUICOverEmulatedWAN runs a real quic-go handshake and stream between
// two wrapped sockets and checks that the emulated distance shows in both the
// wall-clock time and quic-go's own RTT estimate.
func TestQUICOverEmulatedWAN(t *testing.T) {
	const oneWay = 40 * time.Millisecond
	cert, pool := selfSigned(t)
	const alpn = "wan-test"

	tb := NewTable()
	srvSock, cliSock := listenUDP(t), listenUDP(t)
	for addr, region := range map[net.Addr]string{srvSock.LocalAddr(): "frankfurt", cliSock.LocalAddr(): "seoul"} {
		if err := tb.Set(addr.String(), region); err != nil {
			t.Fatal(err)
		}
	}
	srvConn := NewConn(srvSock, "frankfurt", tb, between(oneWay))
	cliConn := NewConn(cliSock, "seoul", tb, between(oneWay))
	srvTr := &quic.Transport{Conn: srvConn}
	cliTr := &quic.Transport{Conn: cliConn}
	// Transports do not close conns they did not create; close both layers.
	t.Cleanup(func() {
		cliTr.Close()
		srvTr.Close()
		cliConn.Close()
		srvConn.Close()
	})

	ln, err := srvTr.Listen(&tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{alpn},
		MinVersion:   tls.VersionTLS13,
	}, &quic.Config{})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	// The echo server is owned by this test: on return the deferred calls
	// close the client conn, the listener and the context, then wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer ln.Close()
	wg.Go(func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		defer c.CloseWithError(0, "")
		s, err := c.AcceptStream(ctx)
		if err != nil {
			t.Errorf("accept stream: %v", err)
			return
		}
		msg, err := io.ReadAll(s)
		if err != nil {
			t.Errorf("server read: %v", err)
			return
		}
		if _, err := s.Write(msg); err != nil {
			t.Errorf("server write: %v", err)
		}
		s.Close()
		select { // keep the conn open until the client is done
		case <-c.Context().Done():
		case <-ctx.Done():
		}
	})

	start := time.Now()
	c, err := cliTr.Dial(ctx, srvSock.LocalAddr(), &tls.Config{
		RootCAs:    pool,
		ServerName: "127.0.0.1",
		NextProtos: []string{alpn},
		MinVersion: tls.VersionTLS13,
	}, &quic.Config{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseWithError(0, "")
	handshake := time.Since(start)

	s, err := c.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	if _, err := s.Write([]byte("hello across the world")); err != nil {
		t.Fatalf("client write: %v", err)
	}
	s.Close()
	echo, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	total := time.Since(start)
	if string(echo) != "hello across the world" {
		t.Fatalf("echo = %q", echo)
	}

	rtt := 2 * oneWay
	stats := c.ConnectionStats()
	t.Logf("handshake %v, dial+echo %v, quic min rtt %v, smoothed %v (emulated rtt %v)",
		handshake, total, stats.MinRTT, stats.SmoothedRTT, rtt)
	if handshake < rtt {
		t.Errorf("handshake took %v, want >= one emulated rtt %v", handshake, rtt)
	}
	if total < 2*rtt {
		t.Errorf("dial+echo took %v, want >= two emulated rtts %v", total, 2*rtt)
	}
	if stats.MinRTT < rtt {
		t.Errorf("quic min rtt %v, want >= emulated rtt %v", stats.MinRTT, rtt)
	}
	if total > 2*rtt+5*slack {
		t.Errorf("dial+echo took %v, far beyond the emulated %v", total, 2*rtt)
	}
	if d, _, _ := cliConn.Stats(); d == 0 {
		t.Error("client conn delayed no datagrams")
	}
}
