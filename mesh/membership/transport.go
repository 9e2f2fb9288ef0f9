package membership

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/relaymesh/relaymesh/mesh/link"
)

// transport runs memberlist over the node's QUIC endpoint instead of its
// own UDP and TCP sockets: packets become QUIC datagrams of kind gossip,
// streams become QUIC streams of kind gossip. So all inter-node traffic
// shares one UDP port, one mutual-TLS identity and one place where tests
// emulate the WAN. memberlist's own encryption is not needed on top.
type transport struct {
	ep        *link.Endpoint
	advertise netip.AddrPort

	packets chan *memberlist.Packet
	streams chan net.Conn
	// ctx is cancelled by Shutdown; done is its Done channel.
	ctx    context.Context
	cancel context.CancelFunc
	done   <-chan struct{}

	dropped  atomic.Uint64 // packets dropped because memberlist lagged
	misnamed atomic.Uint64 // gossip refused for a name its certificate does not give (names.go)
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

// packetQueue bounds gossip packets waiting for memberlist; beyond it they
// are dropped as an overfull UDP socket buffer would.
const packetQueue = 1024

func newTransport(ep *link.Endpoint, advertise netip.AddrPort) *transport {
	ctx, cancel := context.WithCancel(context.Background())
	t := &transport{
		ep:        ep,
		advertise: advertise,
		packets:   make(chan *memberlist.Packet, packetQueue),
		streams:   make(chan net.Conn),
		ctx:       ctx,
		cancel:    cancel,
		done:      ctx.Done(),
	}
	ep.HandleDatagram(link.KindGossip, t.onDatagram)
	ep.HandleStream(link.KindGossip, t.onStream)
	return t
}

func (t *transport) onDatagram(from net.Addr, payload []byte) {
	p := &memberlist.Packet{Buf: payload, From: from, Timestamp: time.Now()}
	select {
	case t.packets <- p:
	case <-t.done:
	default:
		t.dropped.Add(1)
	}
}

// onStream hands an accepted stream to memberlist, waiting for it to take
// the stream or shut down. It runs on a goroutine owned by the endpoint.
func (t *transport) onStream(s *link.Stream) {
	select {
	case t.streams <- s:
	case <-t.done:
		_ = s.Close()
	}
}

func (t *transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IP(t.advertise.Addr().AsSlice()), int(t.advertise.Port()), nil
}

func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *transport) WriteToAddress(b []byte, addr memberlist.Address) (time.Time, error) {
	if t.ctx.Err() != nil {
		// memberlist's Shutdown does not wait for a probe in flight; what it
		// sends afterwards is dropped quietly instead of logged as an error.
		return time.Now(), nil
	}
	return time.Now(), t.ep.SendDatagram(addr.Addr, link.KindGossip, b)
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *transport) DialAddressTimeout(addr memberlist.Address, timeout time.Duration) (net.Conn, error) {
	// Derived from t.ctx so that a dial is abandoned when memberlist shuts down.
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	s, err := t.ep.OpenStream(ctx, addr.Addr, link.KindGossip)
	if err != nil {
		return nil, err
	}
	// A stream memberlist opens to a name (push-pull, the periodic full
	// state exchange) must reach that name's certificate (names.go).
	// Packets are not checked one by one: a check on every probe and
	// gossip packet cost chat latency in the dev mesh (spikes of tens of
	// ms, cause not found).
	if addr.Name != "" && s.PeerName() != addr.Name {
		t.misnamed.Add(1)
		s.Abort()
		return nil, fmt.Errorf("membership: %s presents a certificate for %q, not %q", addr.Addr, s.PeerName(), addr.Name)
	}
	return s, nil
}

func (t *transport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown stops handing traffic to memberlist. The endpoint itself is
// owned by the node and closed there.
func (t *transport) Shutdown() error {
	t.cancel()
	return nil
}
