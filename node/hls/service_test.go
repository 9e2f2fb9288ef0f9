package hls

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/hls/announce"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"github.com/relaymesh/relaymesh/origin"
)

var serviceCA = sync.OnceValue(func() *pki.CA {
	ca, err := pki.NewCA("hls test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
})

func newEndpoint(t *testing.T, name string) *link.Endpoint {
	t.Helper()
	id, err := serviceCA().NewIdentity(name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e, err := link.New(link.Config{Conn: pc, ServerTLS: id.ServerTLS(link.ALPN), ClientTLS: id.ClientTLS(link.ALPN), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// fixedMembers is a membership view that does not change.
type fixedMembers []membership.Member

func (m fixedMembers) Members() []membership.Member { return m }

// downOrigin is an origin that cannot be reached.
type downOrigin struct{}

func (downOrigin) Get(context.Context, string) (io.ReadCloser, origin.Info, error) {
	return nil, origin.Info{}, origin.ErrUnavailable
}

// newService starts a Service named name on its own endpoint; it stops
// when the test ends.
func newService(t *testing.T, name string, members Members) (*Service, *link.Endpoint) {
	t.Helper()
	ep := newEndpoint(t, name)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := NewService(ctx, ServiceConfig{
		Name: name, Region: "seoul", Addr: ep.Addr().String(),
		CacheMemory: 1 << 20, OriginTimeout: time.Second, PlaylistMaxAge: time.Minute,
	}, Deps{Endpoint: ep, Members: members, Origin: downOrigin{}, Logger: nodetest.Logger(t, 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = ep.Close() // before the cache: no handler runs past it
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return svc, ep
}

const goodPlaylist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg1.ts\n"

// TestBadAnnouncementsChangeNothing sends bad announcements (and ones of
// an unknown version) to a service over real QUIC streams from a peer:
// none is applied or cached, each is counted, and the good one that
// follows is applied.
func TestBadAnnouncementsChangeNothing(t *testing.T) {
	b, bEP := newService(t, "tokyo-1", fixedMembers{})
	a := newEndpoint(t, "seoul-1")
	send := func(data []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := a.OpenStream(ctx, bEP.Addr().String(), link.KindAnnounce)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write(data)
		_ = s.Stream.Close()
	}
	good, err := announce.Encode("live/index.m3u8", []byte(goodPlaylist), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	malformed := [][]byte{
		[]byte("GET / HTTP/1.1\r\n"),
		good[:20],
		[]byte(strings.Replace(string(good), "live/index.m3u8", "live/../../etc/index.m3u8", 1)),
		[]byte(strings.Replace(string(good), "live/index.m3u8", "live/seg1.ts", 1)),
		nil,
	}
	unknown := [][]byte{
		[]byte(strings.Replace(string(good), `"v":1`, `"v":2`, 1)),
		[]byte(`{"v":3,"playlist":{"key":"live/index.m3u8"}}`),
	}
	for _, data := range append(append([][]byte{}, malformed...), unknown...) {
		send(data)
	}
	want := AnnounceStats{Stats: announce.Stats{Malformed: uint64(len(malformed)), UnknownVersion: uint64(len(unknown))}}
	nodetest.WaitFor(t, 5*time.Second, "the bad announcements counted", func() bool { return b.AnnounceStats() == want })
	send(good)
	want.Applied = 1
	nodetest.WaitFor(t, 5*time.Second, "the good announcement applied", func() bool { return b.AnnounceStats() == want })
	if e, ok := b.Cache().Get("live/index.m3u8"); !ok || string(e.Body) != goodPlaylist {
		t.Fatalf("cached playlist %q, %v", e.Body, ok)
	}
	for _, key := range []string{"live/seg1.ts", "etc/index.m3u8"} {
		if b.Cache().Has(key) {
			t.Errorf("%s is cached after bad announcements", key)
		}
	}
}

// TestAnnounceReachesUpMembers: Announce sends to every other member that
// is up, leaving ones included, and to nobody else.
func TestAnnounceReachesUpMembers(t *testing.T) {
	up, upEP := newService(t, "tokyo-1", fixedMembers{})
	leaving, leavingEP := newService(t, "virginia-1", fixedMembers{})
	dead, deadEP := newService(t, "frankfurt-1", fixedMembers{})
	member := func(name string, ep *link.Endpoint, state membership.State, leaving bool) membership.Member {
		return membership.Member{Name: name, State: state, Meta: membership.Meta{Name: name, Mesh: ep.Addr().String(), Leaving: leaving}}
	}
	a, _ := newService(t, "seoul-1", fixedMembers{
		{Name: "seoul-1", Self: true, State: membership.StateAlive, Meta: membership.Meta{Name: "seoul-1", Mesh: "127.0.0.1:1"}},
		member("tokyo-1", upEP, membership.StateAlive, false),
		member("virginia-1", leavingEP, membership.StateAlive, true),
		member("frankfurt-1", deadEP, membership.StateDead, false),
	})
	a.Announce("live/index.m3u8", []byte(goodPlaylist))
	nodetest.WaitFor(t, 5*time.Second, "tokyo-1 and virginia-1 applied it", func() bool {
		return up.AnnounceStats().Applied == 1 && leaving.AnnounceStats().Applied == 1
	})
	if e, ok := up.Cache().Get("live/index.m3u8"); !ok || string(e.Body) != goodPlaylist {
		t.Fatalf("tokyo-1 cached %q, %v", e.Body, ok)
	}
	a.send.Close() // every send has ended: the dead member got none
	if got := dead.AnnounceStats().Applied; got != 0 {
		t.Fatalf("a dead member applied %d announcements", got)
	}
}
