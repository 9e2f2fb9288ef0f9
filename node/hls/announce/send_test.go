package announce

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingOpener counts the streams asked for and opens none.
type countingOpener struct{ opened atomic.Int64 }

func (o *countingOpener) OpenStream(ctx context.Context, addr string, k link.Kind) (*link.Stream, error) {
	o.opened.Add(1)
	if k != link.KindAnnounce {
		return nil, errors.New("wrong kind")
	}
	return nil, errors.New("no peer here")
}

// TestSendWhileClosing: ingest may hand over a playlist while the node
// closes. Sending then must neither race Close's wait for the sending
// goroutines (the race detector reported wg.Add against wg.Wait) nor
// start goroutines after it. Run it with -race.
func TestSendWhileClosing(t *testing.T) {
	open := &countingOpener{}
	s := NewSender(open, nodetest.Logger(t, 0))
	msg, err := Encode("live/index.m3u8", []byte(goodPlaylist), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	to := []Peer{{Name: "tokyo-1", Addr: "127.0.0.1:1"}, {Name: "virginia-1", Addr: "127.0.0.1:2"}}
	closed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for after := 0; after < 200; {
			s.Send(context.Background(), msg, to)
			select {
			case <-closed:
				after++ // sending after Close returned must do nothing
			default:
			}
		}
	}()
	nodetest.WaitFor(t, 5*time.Second, "some announcements sent", func() bool { return open.opened.Load() > 0 })
	s.Close()
	atClose := open.opened.Load() // Close waited for every send it let start
	close(closed)
	<-done
	if got := open.opened.Load(); got != atClose {
		t.Fatalf("%d streams opened after Close returned", got-atClose)
	}
}
