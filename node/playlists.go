package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// Event-driven live playlists: the node that accepts a streamer's playlist
// update sends it straight to every live member, each on a QUIC stream of
// kind "announce" (one hop, the direct path); every node puts it into its
// cache, so players everywhere see the new segments within the network's
// one-way latency instead of waiting for their cached copy to expire.
//
// Why not a NATS subject over the leaf tree (core NATS does cross it; chat
// presence uses it): the tree path can be longer than the direct one (Seoul
// to Frankfurt via a hub), and core NATS drops messages while the tree
// re-forms after a node dies, exactly when edges most need the update. A
// direct stream per member has neither problem; the cost is one stream per
// member per playlist update, a few hundred bytes each.

// playlistAnnounce is the message.
type playlistAnnounce struct {
	Key    string `json:"key"`
	Body   []byte `json:"body"`   // the playlist itself
	Stored int64  `json:"stored"` // unix nanoseconds at the ingest node: the tie-break of hls.PlaylistSupersedes

	pl playlist.Playlist // Body, parsed by parseAnnouncement
}

// maxAnnounce bounds an announced playlist; real ones are a few KB.
const maxAnnounce = 256 << 10

// announceTimeout bounds sending one announcement to one peer.
const announceTimeout = 5 * time.Second

func (n *Node) announcePlaylist(key string, body []byte) {
	b, err := json.Marshal(playlistAnnounce{Key: key, Body: body, Stored: time.Now().UnixNano()})
	if err != nil || len(b) > maxAnnounce {
		return
	}
	// One goroutine per peer, owned by the node (n.announcing, its
	// context): the streamer's ack is not held up by the farthest region.
	for _, m := range n.cluster.Members() {
		if m.Self || !m.Up() { // a leaving member still serves its players
			continue
		}
		n.announcing.start(func() {
			ctx, cancel := context.WithTimeout(n.ctx, announceTimeout)
			defer cancel()
			s, err := n.endpoint.OpenStream(ctx, m.Meta.Mesh, link.KindAnnounce)
			if err != nil {
				n.log.Debug("announcing playlist", "peer", m.Name, "err", err)
				return
			}
			_ = s.SetWriteDeadline(time.Now().Add(announceTimeout))
			_, _ = s.Write(b)
			_ = s.Stream.Close() // FIN: the whole message is sent
		})
	}
}

// announcers owns the goroutines that send announcements. Ingest may hand
// over a playlist while the node closes, so start and close order
// themselves under mu: once close has begun, start runs nothing (a
// WaitGroup's Add must not race its Wait).
type announcers struct {
	mu      sync.Mutex
	closing bool // guarded by mu
	wg      sync.WaitGroup
}

// start runs f in a goroutine unless close has begun.
func (a *announcers) start(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// close stops later starts and waits for the goroutines running.
func (a *announcers) close() {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.wg.Wait()
}

// receiveAnnouncement applies one announced playlist. Announcements are
// peer messages: anything malformed is dropped.
func (n *Node) receiveAnnouncement(s *link.Stream) {
	defer s.Close()
	_ = s.SetReadDeadline(time.Now().Add(announceTimeout))
	data, err := io.ReadAll(io.LimitReader(s, maxAnnounce+1))
	if err != nil {
		return
	}
	a, stream, err := parseAnnouncement(data)
	if err != nil {
		n.log.Debug("dropping a playlist announcement", "peer", s.PeerName(), "err", err)
		return
	}
	_ = n.hlsCache.Put(cache.Entry{Key: a.Key, Body: a.Body, Meta: cache.Meta{
		ContentType: "application/vnd.apple.mpegurl", Stored: time.Unix(0, a.Stored).UTC(),
		Expires: time.Now().Add(n.cfg.HLS.PlaylistMaxAge),
	}})
	n.playlistUpdates.Add(1)

	// The announcing node (by its certificate, not by the message) is
	// the stream's ingest node: fills leaving the region ask it first.
	n.hls.NoteSource(stream, s.PeerName())
	// What it lists may be filled for players here (the segment of a
	// stream nobody announced or listed is not: see node/hls/known.go).
	n.hls.NotePlaylist(a.Key, a.pl)

	// Players here follow this stream: fill the new segments before they
	// ask. The announcement stream is done with first.
	_ = s.Close()
	if n.hls.Watched(stream) {
		n.hls.Prefetch(n.ctx, a.Key, a.pl)
	}
}

// parseAnnouncement decodes and checks an announcement: a valid playlist
// key and a body that is a playlist. It returns the key's stream.
func parseAnnouncement(data []byte) (playlistAnnounce, string, error) {
	var a playlistAnnounce
	if len(data) > maxAnnounce {
		return a, "", fmt.Errorf("announcement of %d bytes is over %d", len(data), maxAnnounce)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a, "", fmt.Errorf("announcement: %w", err)
	}
	if err := hlskey.Check(a.Key); err != nil {
		return a, "", fmt.Errorf("announcement: %w", err)
	}
	if !hlskey.IsPlaylist(a.Key) {
		return a, "", fmt.Errorf("announcement: %q is not a playlist key", a.Key)
	}
	stream := hlskey.Stream(a.Key)
	pl, err := playlist.Parse(a.Body)
	if err != nil {
		return a, "", fmt.Errorf("announcement of %s: %w", a.Key, err)
	}
	a.pl = pl
	return a, stream, nil
}

// PlaylistUpdates is how many announced playlists this node applied.
func (n *Node) PlaylistUpdates() uint64 { return n.playlistUpdates.Load() }
