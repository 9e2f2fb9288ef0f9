package wan

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkWriteToDelayed measures the sustained cost per delayed datagram of
// the whole path: WriteTo's copy and heap push plus the scheduler's send. The
// writer is held to at most maxInFlight queued datagrams, as a congestion
// controller would hold it, so the queue never overflows and every datagram
// is really sent; compare with BenchmarkWriteToImmediate, the bare socket.
//
//	go test -run '^$' -bench WriteTo -benchmem ./mesh/wan/
func BenchmarkWriteToDelayed(b *testing.B) {
	const maxInFlight = 1024
	rx := receiver(b)
	tx := wrap(b, "seoul", tableWith(b, rx.LocalAddr(), "tokyo"), between(time.Millisecond))
	p := make([]byte, 1200)
	dst := rx.LocalAddr()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := tx.WriteTo(p, dst); err != nil {
			b.Fatal(err)
		}
		if i++; i%maxInFlight == 0 {
			for tx.queued() > maxInFlight/2 {
				runtime.Gosched()
			}
		}
	}
	for tx.queued() > 0 { // the last datagrams' sends belong to the cost
		runtime.Gosched()
	}
	if _, _, dropped := tx.Stats(); dropped > 0 {
		b.Fatalf("%d datagrams dropped; the benchmark must not overflow the queue", dropped)
	}
}

// BenchmarkWriteToImmediate is the baseline: an unknown destination, so the
// datagram goes straight to the socket.
func BenchmarkWriteToImmediate(b *testing.B) {
	rx := receiver(b)
	tx := wrap(b, "seoul", NewTable(), between(time.Millisecond))
	p := make([]byte, 1200)
	dst := rx.LocalAddr()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tx.WriteTo(p, dst); err != nil {
			b.Fatal(err)
		}
	}
}
