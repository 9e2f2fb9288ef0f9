package wan

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPacketHeapOrdersByTimeThenSeq(t *testing.T) {
	base := time.Now()
	var h packetHeap
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		h.push(&packet{at: base.Add(time.Duration(r.IntN(50)) * time.Millisecond), seq: uint64(i)})
	}
	prev := h.pop()
	for len(h) > 0 {
		p := h.pop()
		if p.at.Before(prev.at) || (p.at.Equal(prev.at) && p.seq < prev.seq) {
			t.Fatalf("heap order broken: (%v,%d) after (%v,%d)", p.at, p.seq, prev.at, prev.seq)
		}
		prev = p
	}
	if h.peek() != nil {
		t.Fatal("peek on empty heap returned a packet")
	}
}
