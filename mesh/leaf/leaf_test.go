package leaf

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/natsd"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

var testCA = sync.OnceValue(func() *pki.CA {
	ca, err := pki.NewCA("leaf test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
})

// member is a node reduced to what the leaf tree needs: a QUIC endpoint,
// an embedded NATS server and a leaf manager.
type member struct {
	name string
	ep   *link.Endpoint
	ns   *natsd.Server
	lm   *Manager
}

func newMember(t *testing.T, name string) *member {
	t.Helper()
	id, err := testCA().NewIdentity(name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := link.New(link.Config{Conn: pc, ServerTLS: id.ServerTLS(link.ALPN), ClientTLS: id.ClientTLS(link.ALPN)})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := natsd.Start(natsd.Config{Name: name, DataDir: t.TempDir(), LeafRemote: fwd.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := New(Config{Endpoint: ep, Listener: fwd, Secret: ns.LeafSecret(), Hub: ns})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{name: name, ep: ep, ns: ns, lm: lm}
	t.Cleanup(m.close)
	return m
}

func (m *member) close() {
	_ = m.lm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	m.ns.Shutdown(ctx)
	cancel()
	_ = m.ep.Close()
}

func (m *member) parent() Parent { return Parent{Name: m.name, Addr: m.ep.Addr().String()} }

// relays reports whether a message published at from reaches a
// subscriber at to within a second.
func relays(t *testing.T, from, to *member) bool {
	t.Helper()
	sub, err := to.ns.Conn().SubscribeSync("chat.presence.probe")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = to.ns.Conn().Flush()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = from.ns.Conn().Publish("chat.presence.probe", []byte("hi"))
		if _, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			return true
		}
	}
	return false
}

func TestLeafLinksCarryNATSOverQUIC(t *testing.T) {
	root, mid, tail := newMember(t, "root"), newMember(t, "mid"), newMember(t, "tail")
	mid.lm.SetParent(root.parent())
	tail.lm.SetParent(mid.parent())
	if !relays(t, tail, root) || !relays(t, root, tail) {
		t.Fatal("no relay along tail -> mid -> root")
	}
	if got := root.ep.Stats().StreamsAccepted; got == 0 {
		t.Fatal("root accepted no QUIC stream: the leaf link did not ride QUIC")
	}

	// Re-parent tail directly under root and kill mid: chat still flows.
	tail.lm.SetParent(root.parent())
	mid.close()
	if !relays(t, tail, root) {
		t.Fatal("no relay after re-parenting tail under root")
	}

	// A root with no parent refuses its NATS server's leaf dials quietly.
	root.lm.SetParent(Parent{})
	if root.ns.LeafCount() != 1 {
		t.Fatalf("root has %d leaf connections, want 1 (tail)", root.ns.LeafCount())
	}
}
