//go:build !race

package node

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// This file runs without the race detector only (CI runs it in its no-race
// step), like node/chat/store_repair_test.go: restarting JetStream inside a
// running nats-server races in the server's own code.

// TestBrokenChatStoreShowsWhereOperatorsLook is the hardening issue's
// acceptance 4 at the node's level: the chat store breaks (JetStream
// switched off, as a critical write error does). A fan's publish is
// answered with an internal error, /readyz says 503 with the reason while
// it lasts, and relaymesh_chat_events_total{event="publish_failed"} counts
// it; within 10 s the node has repaired the store, the fan's publishes are
// acknowledged again and /readyz is 200.
func TestBrokenChatStoreShowsWhereOperatorsLook(t *testing.T) {
	n := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := dialSynced(ctx, t, n.HTTPURL(), "repair")
	nonce := 0
	publish := func() (wire.Ack, *wire.Error) {
		t.Helper()
		nonce++
		if err := f.Publish(ctx, "hello", fmt.Sprintf("n-%d", nonce)); err != nil {
			t.Fatal(err)
		}
		for {
			switch fr := nextFrame(ctx, t, f).(type) {
			case wire.Ack:
				return fr, nil
			case wire.Error:
				return wire.Ack{}, &fr
			}
		}
	}
	readyz := func() (int, string) {
		var body struct {
			Ready  bool
			Reason string
		}
		code := getJSON(t, n.HTTPURL()+"/readyz", &body)
		return code, body.Reason
	}

	before, e := publish()
	if e != nil {
		t.Fatalf("publish with a working store: %+v", e)
	}
	if code, reason := readyz(); code != http.StatusOK {
		t.Fatalf("readyz with a working store: %d %q", code, reason)
	}

	if err := n.nats.StopJetStreamForTest(); err != nil {
		t.Fatal(err)
	}
	broken := time.Now()
	if _, e := publish(); e == nil || e.Code != wire.CodeInternal {
		t.Fatalf("publish with the store off answered %+v, want an internal error", e)
	}
	if code, reason := readyz(); code != http.StatusServiceUnavailable || reason == "" {
		t.Fatalf("readyz while publishes fail: %d %q, want 503 with a reason", code, reason)
	}
	if got := metric(t, n, "relaymesh_chat_events_total", "event", "publish_failed"); got < 1 {
		t.Fatalf("publish_failed is %v after a failed publish", got)
	}

	var after wire.Ack
	eventually(t, 10*time.Second, "a publish acknowledged again", func() (bool, string) {
		var e *wire.Error
		after, e = publish()
		return e == nil, fmt.Sprintf("%+v", e)
	})
	t.Logf("acknowledged again %v after the store broke", time.Since(broken).Round(time.Millisecond))
	if after.ID.Seq <= before.ID.Seq {
		t.Fatalf("id after the repair %v, not after %v", after.ID, before.ID)
	}
	eventually(t, 5*time.Second, "readyz 200 again", func() (bool, string) {
		code, reason := readyz()
		return code == http.StatusOK, fmt.Sprintf("%d %q", code, reason)
	})
}
