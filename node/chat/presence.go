package chat

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// Presence: every node publishes, once per interval, how many fans it has
// in each room (core NATS, subject chat.presence.<node>, not stored). Every
// node keeps the latest report of every node and sums them per room and
// region; fans of a room get a presence frame when its sum changes, at most
// once per interval.
//
// The frames a node pushes for presence are bounded too, whatever the
// churn: while 100,000 fans join, every room's count changes every
// interval, and pushing each change to every fan would cost as many writes
// as the chat itself. Each interval a node sends at most its budget of
// presence frames (Config.PresenceFrames per second), to the changed rooms
// that were pushed longest ago first; the others stay changed and go out
// in a later interval, with the count of that moment.

const presenceSubject = "chat.presence."

// report is one node's presence report.
type report struct {
	Node   string         `json:"node"`
	Region string         `json:"region"`
	Rooms  map[string]int `json:"rooms"`
	at     time.Time
}

// reportTTL is how long a node's report counts without a newer one:
// three intervals, so one lost report changes nothing but a dead node's
// fans disappear within seconds.
const reportTTL = 3

type presence struct {
	mu      sync.Mutex
	reports map[string]report        // by node
	sent    map[string]wire.Presence // last pushed per room
	pushed  map[string]time.Time     // when, per room
}

func newPresence() *presence {
	return &presence{reports: make(map[string]report), sent: make(map[string]wire.Presence),
		pushed: make(map[string]time.Time)}
}

func (p *presence) receive(msg *nats.Msg) {
	var r report
	if err := json.Unmarshal(msg.Data, &r); err != nil || r.Node == "" || len(r.Rooms) > 100000 {
		return // a peer's bad report must not break presence
	}
	r.at = time.Now()
	p.mu.Lock()
	p.reports[r.Node] = r
	p.mu.Unlock()
}

// aggregate sums the fresh reports per room.
func (p *presence) aggregate(now time.Time, ttl time.Duration) map[string]wire.Presence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]wire.Presence)
	for node, r := range p.reports {
		if now.Sub(r.at) > ttl {
			delete(p.reports, node)
			continue
		}
		for room, n := range r.Rooms {
			agg, ok := out[room]
			if !ok {
				agg = wire.Presence{Room: room, Regions: map[string]int{}}
			}
			agg.Total += n
			agg.Regions[r.Region] += n
			out[room] = agg
		}
	}
	return out
}

// room returns the current aggregate of one room.
func (p *presence) room(name string, now time.Time, ttl time.Duration) wire.Presence {
	if agg, ok := p.aggregate(now, ttl)[name]; ok {
		return agg
	}
	return wire.Presence{Room: name, Regions: map[string]int{}}
}

// changed returns the rooms whose aggregate differs from what was last
// pushed, stalest first, for at most budget frames: a room costs its fans
// here (fans), and the first room goes out whatever its cost, so that a
// room bigger than the budget is still updated. It records those it
// returns as pushed at now; the rest stay changed.
func (p *presence) changed(agg map[string]wire.Presence, fans map[string]int, budget int, now time.Time) []wire.Presence {
	p.mu.Lock()
	defer p.mu.Unlock()
	var cands []wire.Presence
	for room, a := range agg {
		if old, ok := p.sent[room]; !ok || old.Total != a.Total || !maps.Equal(old.Regions, a.Regions) {
			cands = append(cands, a)
		}
	}
	for room, old := range p.sent {
		if _, ok := agg[room]; !ok && old.Total != 0 {
			cands = append(cands, wire.Presence{Room: room, Regions: map[string]int{}})
		}
	}
	slices.SortFunc(cands, func(a, b wire.Presence) int {
		if c := p.pushed[a.Room].Compare(p.pushed[b.Room]); c != 0 {
			return c
		}
		return strings.Compare(a.Room, b.Room)
	})
	var out []wire.Presence
	used := 0
	for _, a := range cands {
		cost := fans[a.Room]
		if len(out) > 0 && used+cost > budget {
			continue // a cheaper room may still fit
		}
		used += cost
		out = append(out, a)
		if _, live := agg[a.Room]; !live {
			// The room emptied everywhere: pushed once as 0, then
			// forgotten, so rooms that come and go leave nothing here.
			delete(p.sent, a.Room)
			delete(p.pushed, a.Room)
			continue
		}
		p.sent[a.Room] = a
		p.pushed[a.Room] = now
	}
	return out
}

// runPresence publishes this node's report and pushes changes to fans,
// every interval, until the service stops.
func (svc *Service) runPresence() {
	defer svc.wg.Done()
	t := time.NewTicker(svc.cfg.PresenceInterval)
	defer t.Stop()
	budget := max(1, int(float64(svc.cfg.PresenceFrames)*svc.cfg.PresenceInterval.Seconds()))
	for {
		select {
		case <-svc.ctx.Done():
			return
		case now := <-t.C:
			fans := svc.hub.fanCounts()
			rep := report{Node: svc.cfg.Node, Region: svc.cfg.Region, Rooms: fans}
			if data, err := json.Marshal(rep); err == nil {
				_ = svc.cfg.NATS.Publish(presenceSubject+svc.cfg.Node, data)
			}
			for _, p := range svc.presence.changed(svc.presence.aggregate(now, reportTTL*svc.cfg.PresenceInterval), fans, budget, now) {
				frame, err := wire.Encode(p)
				if err != nil {
					continue
				}
				svc.hub.sendToFans(p.Room, serverFrame(frame))
			}
		}
	}
}
