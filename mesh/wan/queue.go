package wan

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// packet is one datagram waiting for its send time.
type packet struct {
	at   time.Time // when it may leave
	seq  uint64    // write order; breaks ties so equal times stay FIFO
	dst  netip.AddrPort
	addr net.Addr // what the caller passed, handed unchanged to the real conn
	buf  *[]byte  // pooled copy of the payload
}

// packetHeap is a min-heap on (at, seq), written out by hand instead of via
// container/heap to avoid boxing every packet in an interface on the hot path.
// It is not safe for concurrent use; Conn guards it with its mutex.
type packetHeap []*packet

func (h packetHeap) less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *packetHeap) push(p *packet) {
	*h = append(*h, p)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop removes and returns the earliest packet; the heap must not be empty.
func (h *packetHeap) pop() *packet {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	i := 0
	for {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, small) {
			small = l
		}
		if r < len(s) && s.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
	return top
}

func (h packetHeap) peek() *packet {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

// poolBufSize covers any QUIC or memberlist datagram on a 1500-byte MTU path
// with room to spare; larger payloads get a one-off allocation.
const poolBufSize = 2048

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, poolBufSize)
	return &b
}}

func copyPayload(p []byte) *[]byte {
	if len(p) > poolBufSize {
		b := append([]byte(nil), p...)
		return &b
	}
	bp := bufPool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	return bp
}

func releasePayload(bp *[]byte) {
	if cap(*bp) != poolBufSize {
		return
	}
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

var packetPool = sync.Pool{New: func() any { return new(packet) }}
