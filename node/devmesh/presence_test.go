package devmesh

import (
	"context"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/fan"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// TestPresenceCountsFansInEveryRegion: fans of one room on all four
// regions' edges each see the room's total and per-region counts from
// every edge. Presence reports travel as core NATS messages on a wildcard
// subscription (chat.presence.*) across the leaf tree, leaf to leaf
// through their hubs.
func TestPresenceCountsFansInEveryRegion(t *testing.T) {
	m := startChatMesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var fans []*fan.Fan
	for _, n := range m.Nodes() {
		f, err := fan.Dial(ctx, n.HTTPURL(), "stage", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.CloseNow() })
		fans = append(fans, f)
	}
	for i, f := range fans {
		region := m.Nodes()[i].Region()
		for {
			fr, err := f.Read(ctx)
			if err != nil {
				t.Fatalf("fan on %s never saw every region's fan: %v", region, err)
			}
			p, ok := fr.(wire.Presence)
			if ok && p.Total == len(fans) && len(p.Regions) == 4 {
				t.Logf("fan on %s: %d fans, %v", region, p.Total, p.Regions)
				break
			}
		}
	}
}
