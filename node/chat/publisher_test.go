package chat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// TestConcurrentPublishesSurviveRetriesInFlight: hundreds of publishes are
// queued at once, so the publisher has many in flight, and some of them
// are retries of a stored message (same dedup id). A retry is answered
// with the first copy; everything sent behind it fails its expected
// sequence and must go round again. Whatever the interleaving, every
// publish is answered, the new ones get consecutive ids in the order the
// store holds them, each stored message's id is its stream position, and
// nothing is stored twice.
func TestConcurrentPublishesSurviveRetriesInFlight(t *testing.T) {
	ts := startService(t, nil)
	p := ts.svc.pub
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgOf := func(text string) wire.Message {
		return wire.Message{Room: "stage", User: "fan", Text: text, TS: time.Now().UTC().Truncate(time.Millisecond), Region: "seoul"}
	}
	first, err := p.publish(ctx, msgOf("first"), "dup")
	if err != nil {
		t.Fatal(err)
	}

	const n = 600
	type result struct {
		i   int
		msg wire.Message
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			dedup := fmt.Sprintf("m-%d", i)
			if i%50 == 0 {
				dedup = "dup" // a retry of the first message
			}
			m, err := p.publish(ctx, msgOf(fmt.Sprint(i)), dedup)
			results <- result{i, m, err}
		}()
	}
	close(start)

	byID := map[uint64]string{}
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("publish %d: %v", r.i, r.err)
		}
		if r.i%50 == 0 {
			if r.msg.ID != first.ID || r.msg.Text != "first" {
				t.Errorf("retry %d answered with %v %q, want the first copy %v", r.i, r.msg.ID, r.msg.Text, first.ID)
			}
			continue
		}
		if r.msg.ID.Origin != "test-1" {
			t.Fatalf("publish %d got id %v", r.i, r.msg.ID)
		}
		if prev, dup := byID[r.msg.ID.Seq]; dup {
			t.Fatalf("id %v given to %q and %q", r.msg.ID, prev, r.msg.Text)
		}
		byID[r.msg.ID.Seq] = r.msg.Text
	}
	fresh := n - n/50
	for seq := first.ID.Seq + 1; seq <= first.ID.Seq+uint64(fresh); seq++ {
		text, ok := byID[seq]
		if !ok {
			t.Fatalf("no publish got seq %d: the ids have a gap", seq)
		}
		stored, err := readStored(ctx, ts.svc.cfg.JetStream, seq)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ID.Seq != seq || stored.Text != text {
			t.Fatalf("stream position %d holds %v %q; the ack said %q", seq, stored.ID, stored.Text, text)
		}
	}
	st, err := ts.svc.cfg.JetStream.Stream(ctx, originStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := first.ID.Seq + uint64(fresh); info.State.LastSeq != want || info.State.Msgs != want {
		t.Fatalf("ORIGIN holds %d messages up to seq %d, want %d: a retry was stored again or a message lost",
			info.State.Msgs, info.State.LastSeq, want)
	}
	t.Logf("%d publishes, %d of them retries of a stored one", n, n/50)
}
