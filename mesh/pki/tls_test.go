package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

const testALPN = "relaymesh-test"

type handshakeResult struct {
	server, client         error
	serverPeer, clientPeer string
}

// handshake runs a real TLS handshake over net.Pipe. In TLS 1.3 the client
// finishes before the server has checked its certificate, so after its
// handshake the client reads one byte, which surfaces the server's
// rejection. Each side closes its end when done so the other cannot block.
func handshake(t *testing.T, server, client *tls.Config) handshakeResult {
	t.Helper()
	sc, cc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	_ = sc.SetDeadline(deadline)
	_ = cc.SetDeadline(deadline)
	srv, cli := tls.Server(sc, server), tls.Client(cc, client)

	var res handshakeResult
	var wg sync.WaitGroup
	wg.Go(func() {
		defer sc.Close() // not srv.Close: its close_notify would block on the unbuffered pipe
		if res.server = srv.Handshake(); res.server != nil {
			return
		}
		res.serverPeer, res.server = PeerName(srv.ConnectionState())
		if res.server == nil {
			_, res.server = srv.Write([]byte{1})
		}
	})
	wg.Go(func() {
		defer cc.Close()
		if res.client = cli.Handshake(); res.client != nil {
			return
		}
		var b [1]byte
		if _, res.client = io.ReadFull(cli, b[:]); res.client != nil {
			return
		}
		res.clientPeer, res.client = PeerName(cli.ConnectionState())
	})
	wg.Wait()
	return res
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t, "cluster")
	a, b := newIdentity(t, ca, "seoul-1"), newIdentity(t, ca, "tokyo-1")
	res := handshake(t, a.ServerTLS(testALPN), b.ClientTLS(testALPN))
	if res.server != nil || res.client != nil {
		t.Fatalf("handshake failed: server %v, client %v", res.server, res.client)
	}
	if res.serverPeer != "tokyo-1" || res.clientPeer != "seoul-1" {
		t.Errorf("peer names: server saw %q, client saw %q", res.serverPeer, res.clientPeer)
	}
	for _, c := range []*tls.Config{a.ServerTLS(testALPN), a.ClientTLS(testALPN)} {
		if c.MinVersion != tls.VersionTLS13 {
			t.Errorf("MinVersion = %x, want TLS 1.3", c.MinVersion)
		}
	}
}

func TestMutualTLSRejects(t *testing.T) {
	ca, other := newCA(t, "cluster"), newCA(t, "other")
	good := newIdentity(t, ca, "seoul-1")
	good2 := newIdentity(t, ca, "tokyo-1")
	// The stranger trusts both CAs, so that only the other side can be the
	// one refusing.
	stranger := newIdentity(t, other, "intruder")
	stranger.Roots.AddCert(ca.Cert)
	now, later := window(-time.Minute, time.Hour)
	serverOnly := rawIdentity(t, ca, leafRequest{name: "srv-only", notBefore: now, notAfter: later, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	clientOnly := rawIdentity(t, ca, leafRequest{name: "cli-only", notBefore: now, notAfter: later, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	oldFrom, oldTo := window(-48*time.Hour, -time.Hour)
	expired := rawIdentity(t, ca, leafRequest{name: "old", notBefore: oldFrom, notAfter: oldTo, eku: nodeEKU})
	noCert := good2.ClientTLS(testALPN)
	noCert.Certificates = nil
	noRoots := &Identity{Cert: good2.Cert, Name: good2.Name}

	for _, tc := range []struct {
		name           string
		server, client *tls.Config
		serverRejects  bool // else the client rejects the server
	}{
		{"client from another ca", good.ServerTLS(testALPN), stranger.ClientTLS(testALPN), true},
		{"server from another ca", stranger.ServerTLS(testALPN), good.ClientTLS(testALPN), false},
		{"client without certificate", good.ServerTLS(testALPN), noCert, true},
		{"client cert lacks client auth", good.ServerTLS(testALPN), serverOnly.ClientTLS(testALPN), true},
		{"server cert lacks server auth", clientOnly.ServerTLS(testALPN), good.ClientTLS(testALPN), false},
		{"expired client", good.ServerTLS(testALPN), expired.ClientTLS(testALPN), true},
		{"expired server", expired.ServerTLS(testALPN), good.ClientTLS(testALPN), false},
		{"identity without roots", good.ServerTLS(testALPN), noRoots.ClientTLS(testALPN), false},
		{"alpn mismatch", good.ServerTLS(testALPN), good2.ClientTLS("other-proto"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := handshake(t, tc.server, tc.client)
			if res.server == nil || res.client == nil {
				t.Fatalf("handshake succeeded: server %v, client %v", res.server, res.client)
			}
			rejecter, other := res.client, res.server
			if tc.serverRejects {
				rejecter, other = res.server, res.client
			}
			if strings.Contains(rejecter.Error(), "remote error") || !strings.Contains(other.Error(), "remote error") {
				t.Errorf("wrong side refused: server %v; client %v", res.server, res.client)
			}
			if res.serverPeer != "" || res.clientPeer != "" {
				t.Errorf("a rejected peer got a name: %q / %q", res.serverPeer, res.clientPeer)
			}
			t.Logf("server: %v; client: %v", res.server, res.client)
		})
	}
}

func TestPeerNameRequiresCompletedHandshake(t *testing.T) {
	if _, err := PeerName(tls.ConnectionState{}); err == nil {
		t.Error("PeerName accepted an incomplete handshake")
	}
	if _, err := PeerName(tls.ConnectionState{HandshakeComplete: true}); err == nil {
		t.Error("PeerName accepted a state without peer certificates")
	}
}

// TestQUICMutualTLS checks the configs against quic-go itself, which insists
// on TLS 1.3 and ALPN, and that ResetKey plugs into quic.Transport.
func TestQUICMutualTLS(t *testing.T) {
	ca := newCA(t, "cluster")
	a, b := newIdentity(t, ca, "seoul-1"), newIdentity(t, ca, "tokyo-1")
	listen := func(id *Identity) *quic.Transport {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		key := quic.StatelessResetKey(id.ResetKey())
		tr := &quic.Transport{Conn: pc, StatelessResetKey: &key}
		t.Cleanup(func() { tr.Close(); pc.Close() })
		return tr
	}
	srvTr, cliTr := listen(a), listen(b)
	ln, err := srvTr.Listen(a.ServerTLS(testALPN), &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer ln.Close()

	var serverSaw string
	accepted := make(chan struct{})
	wg.Go(func() {
		defer close(accepted)
		c, err := ln.Accept(ctx)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer c.CloseWithError(0, "")
		serverSaw, err = PeerName(c.ConnectionState().TLS)
		if err != nil {
			t.Errorf("server PeerName: %v", err)
		}
		accepted <- struct{}{}
		select {
		case <-c.Context().Done():
		case <-ctx.Done():
		}
	})

	c, err := cliTr.Dial(ctx, ln.Addr(), b.ClientTLS(testALPN), &quic.Config{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	clientSaw, err := PeerName(c.ConnectionState().TLS)
	<-accepted // closing before the server accepted would abort its handshake
	c.CloseWithError(0, "")
	if err != nil || clientSaw != "seoul-1" {
		t.Errorf("client PeerName = %q, %v; want seoul-1", clientSaw, err)
	}
	<-accepted
	if serverSaw != "tokyo-1" {
		t.Errorf("server PeerName = %q, want tokyo-1", serverSaw)
	}

	// A stranger's dial fails.
	stranger := newIdentity(t, newCA(t, "other"), "intruder")
	if _, err := cliTr.Dial(ctx, ln.Addr(), stranger.ClientTLS(testALPN), &quic.Config{}); err == nil {
		t.Error("dial with a certificate from another CA succeeded")
	}
}
