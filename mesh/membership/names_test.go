package membership_test

import (
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

var testCA = sync.OnceValue(func() *pki.CA {
	ca, err := pki.NewCA("membership test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
})

// startMember runs a cluster member whose certificate is for certName and
// who gossips under name, joining seeds.
func startMember(t *testing.T, certName, name, region string, seeds ...string) *membership.Cluster {
	t.Helper()
	id, err := testCA().NewIdentity(certName, []string{"127.0.0.1"})
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
	addr := netip.MustParseAddrPort(pc.LocalAddr().String())
	c, err := membership.New(membership.Config{
		Meta:      membership.Meta{Name: name, Region: region, Version: "test", HTTP: "127.0.0.1:1", Mesh: addr.String(), Leaf: addr.String()},
		Endpoint:  ep,
		Advertise: addr,
		Seeds:     seeds,
		// Shrunken timers, as memberlist's own tests do.
		ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2,
		GossipInterval: 20 * time.Millisecond, PushPullInterval: 500 * time.Millisecond,
		StreamTimeout: 2 * time.Second, DeadNodeReclaim: time.Second,
		JoinRetryMin: 20 * time.Millisecond, JoinRetryMax: 100 * time.Millisecond,
		Logger: nodetest.Logger(t, slog.LevelError), // the refusals are expected
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Shutdown()
		_ = ep.Close()
	})
	return c
}

func names(c *membership.Cluster) []string {
	var ns []string
	for _, m := range c.Members() {
		ns = append(ns, m.Name)
	}
	return ns
}

// TestMemberNameMustMatchCertificate: a node with a valid cluster
// certificate for seoul-1 cannot join as virginia-1; an honest node joins.
func TestMemberNameMustMatchCertificate(t *testing.T) {
	seed := startMember(t, "tokyo-1", "tokyo-1", "tokyo")
	seedAddr := seed.Self().Mesh

	// The impostor's memberlist thinks it joined (it reached the seed and
	// got its state); what counts is that no honest member lists it, while
	// it keeps announcing itself.
	impostor := startMember(t, "seoul-1", "virginia-1", "virginia", seedAddr)
	nodetest.WaitFor(t, 10*time.Second, "the seed to refuse the impostor's join and its announcements", func() bool {
		return seed.Stats().Misnamed >= 3 && impostor.Joined()
	})
	if slices.Contains(names(seed), "virginia-1") {
		t.Fatalf("seed lists the impostor: %v", names(seed))
	}

	honest := startMember(t, "frankfurt-1", "frankfurt-1", "frankfurt", seedAddr)
	nodetest.WaitFor(t, 10*time.Second, "the honest node to join", func() bool {
		return honest.Joined() && slices.Contains(names(seed), "frankfurt-1")
	})
	if slices.Contains(names(seed), "virginia-1") || slices.Contains(names(honest), "virginia-1") {
		t.Fatalf("impostor listed: seed %v, honest %v", names(seed), names(honest))
	}
}
