package chat

import (
	"encoding/json"
	"maps"
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
}

func newPresence() *presence {
	return &presence{reports: make(map[string]report), sent: make(map[string]wire.Presence)}
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
// pushed, and records them as pushed.
func (p *presence) changed(agg map[string]wire.Presence) []wire.Presence {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.Presence
	for room, a := range agg {
		if old, ok := p.sent[room]; !ok || old.Total != a.Total || !maps.Equal(old.Regions, a.Regions) {
			out = append(out, a)
			p.sent[room] = a
		}
	}
	for room, old := range p.sent {
		if _, ok := agg[room]; !ok && old.Total != 0 {
			empty := wire.Presence{Room: room, Regions: map[string]int{}}
			out = append(out, empty)
			p.sent[room] = empty
		}
	}
	return out
}

// runPresence publishes this node's report and pushes changes to fans,
// every interval, until the service stops.
func (svc *Service) runPresence() {
	defer svc.wg.Done()
	t := time.NewTicker(svc.cfg.PresenceInterval)
	defer t.Stop()
	for {
		select {
		case <-svc.ctx.Done():
			return
		case now := <-t.C:
			rep := report{Node: svc.cfg.Node, Region: svc.cfg.Region, Rooms: svc.hub.fanCounts()}
			if data, err := json.Marshal(rep); err == nil {
				_ = svc.cfg.NATS.Publish(presenceSubject+svc.cfg.Node, data)
			}
			for _, p := range svc.presence.changed(svc.presence.aggregate(now, reportTTL*svc.cfg.PresenceInterval)) {
				frame, err := wire.Encode(p)
				if err != nil {
					continue
				}
				svc.hub.sendToFans(p.Room, serverFrame(frame))
			}
		}
	}
}
