package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/node/hls/announce"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/fetch"
	"github.com/relaymesh/relaymesh/node/hls/owner"
)

// ServiceConfig configures a Service; the node fills it from its config's
// hls section.
type ServiceConfig struct {
	// Name, Region and Addr (its QUIC address) are this node's; Name is
	// also the cache's name in Cache-Status.
	Name, Region, Addr string
	// CacheMemory bounds the memory tier of the cache (cache.Config).
	CacheMemory int64
	// CacheDir and CacheDisk, both set, give the cache its disk tier.
	CacheDir  string
	CacheDisk int64
	// OriginTimeout is the origin client's budget for one call. A fill
	// waits for the origin at most that and a second, so a miss answers
	// 504 promptly when the origin is down.
	OriginTimeout time.Duration
	// The rest are the Server's (Config).
	MaxObjectBytes    int64
	PlaylistMaxAge    time.Duration
	ShieldRegion      string
	Streams           []string
	NotFoundTTL       time.Duration
	MaxOriginRequests int
}

// Members is the cluster's view of its members (membership.Cluster).
type Members interface {
	Members() []membership.Member
}

// Deps are what the Service uses of the rest of the node.
type Deps struct {
	// Endpoint carries fills between edges (kinds fetch and fetch-cached)
	// and announcements, both ways: the Service registers its handlers.
	Endpoint *link.Endpoint
	Members  Members
	Origin   Origin
	Logger   *slog.Logger
}

// Service is the HLS side of a node: the two-tier cache, the Server that
// answers players and peers, and live-playlist announcements
// (node/hls/announce) both ways.
type Service struct {
	cfg    ServiceConfig
	deps   Deps
	ctx    context.Context
	cache  *cache.Cache
	srv    *Server
	send   *announce.Sender
	recv   *announce.Receiver
	played atomic.Uint64 // announced playlists applied
}

// NewService builds the cache and the Server and registers the Service's
// stream handlers on deps.Endpoint. Nothing contacts the origin.
//
// ctx is the node's lifetime, unlike the setup context of chat.New: the
// fills run for peers, prefetches and outgoing announcements end with it.
// The node cancels it as it begins to stop, while the cache still serves
// the HTTP drain; Close comes after.
func NewService(ctx context.Context, cfg ServiceConfig, deps Deps) (*Service, error) {
	if deps.Endpoint == nil || deps.Members == nil || deps.Origin == nil {
		return nil, errors.New("hls: Endpoint, Members and Origin are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	cc := cache.Config{
		MemoryBytes: cfg.CacheMemory,
		MutableTTL:  cfg.PlaylistMaxAge,
		FillTimeout: cfg.OriginTimeout + time.Second,
		Logger:      deps.Logger.With("component", "hls-cache"),
		Supersedes:  PlaylistSupersedes,
	}
	if cfg.CacheDir != "" && cfg.CacheDisk > 0 {
		cc.Dir, cc.DiskBytes = cfg.CacheDir, cfg.CacheDisk
	}
	c, err := cache.New(cc)
	if err != nil {
		return nil, fmt.Errorf("hls cache: %w", err)
	}
	log := deps.Logger.With("component", "hls")
	svc := &Service{cfg: cfg, deps: deps, ctx: ctx, cache: c, send: announce.NewSender(deps.Endpoint, log)}
	svc.srv, err = New(Config{
		Cache: c, Origin: deps.Origin, Logger: log,
		MaxObjectBytes: cfg.MaxObjectBytes, PlaylistMaxAge: cfg.PlaylistMaxAge,
		Mesh:              liveMembers{self: owner.Member{Name: cfg.Name, Region: cfg.Region, Addr: cfg.Addr}, members: deps.Members},
		ShieldRegion:      cfg.ShieldRegion,
		Opener:            fetch.Link(deps.Endpoint, link.KindFetch),
		CachedOpener:      fetch.Link(deps.Endpoint, link.KindFetchCached),
		CacheName:         cfg.Name,
		Streams:           cfg.Streams,
		NotFoundTTL:       cfg.NotFoundTTL,
		MaxOriginRequests: cfg.MaxOriginRequests,
	})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	svc.recv = announce.NewReceiver(svc.apply, log)
	deps.Endpoint.HandleStream(link.KindFetch, svc.srv.PeerHandler(ctx))
	deps.Endpoint.HandleStream(link.KindFetchCached, svc.srv.CachedPeerHandler(ctx))
	deps.Endpoint.HandleStream(link.KindAnnounce, svc.recv.Handle)
	return svc, nil
}

// liveMembers shows the fill path the members that may take work
// (membership.Member.Live) and their QUIC addresses.
type liveMembers struct {
	self    owner.Member
	members Members
}

func (m liveMembers) Self() owner.Member { return m.self }

func (m liveMembers) Members() []owner.Member {
	var out []owner.Member
	for _, mem := range m.members.Members() {
		if mem.Live() {
			out = append(out, owner.Member{Name: mem.Name, Region: mem.Meta.Region, Addr: mem.Meta.Mesh})
		}
	}
	return out
}

// Announce sends a playlist that a streamer pushed here to every other
// member that is up (membership.Member.Up: a leaving member still serves
// its players), and returns at once. Ingest calls it once the playlist is
// durably accepted.
func (svc *Service) Announce(key string, body []byte) {
	msg, err := announce.Encode(key, body, time.Now())
	if err != nil {
		svc.srv.log.Debug("not announcing playlist", "key", key, "err", err)
		return
	}
	var to []announce.Peer
	for _, m := range svc.deps.Members.Members() {
		if !m.Self && m.Up() {
			to = append(to, announce.Peer{Name: m.Name, Addr: m.Meta.Mesh})
		}
	}
	svc.send.Send(svc.ctx, msg, to)
}

// apply takes one announced playlist from peer into the cache.
func (svc *Service) apply(peer string, p announce.Playlist) {
	_ = svc.cache.Put(cache.Entry{Key: p.Key, Body: p.Body, Meta: cache.Meta{
		ContentType: "application/vnd.apple.mpegurl", Stored: p.Stored,
		Expires: time.Now().Add(svc.cfg.PlaylistMaxAge),
	}})
	svc.played.Add(1)
	// The announcing node (by its certificate, not by the message) is
	// the stream's ingest node: fills leaving the region ask it first.
	svc.srv.NoteSource(p.Stream, peer)
	// What it lists may be filled for players here (the segment of a
	// stream nobody announced or listed is not: see known.go).
	svc.srv.NotePlaylist(p.Key, p.Parsed)
	// Players here follow this stream: fill the new segments before they
	// ask.
	if svc.srv.Watched(p.Stream) {
		svc.srv.Prefetch(svc.ctx, p.Key, p.Parsed)
	}
}

// Close waits for the announcements being sent and closes the cache. The
// node calls it once nothing serves from the cache any more.
func (svc *Service) Close() error {
	svc.send.Close()
	return svc.cache.Close()
}

// Routes registers the HLS endpoints.
func (svc *Service) Routes(mux *http.ServeMux) { svc.srv.Routes(mux) }

// SetStreams replaces the streams the edge knows without asking
// (Server.SetStreams).
func (svc *Service) SetStreams(names []string) { svc.srv.SetStreams(names) }

// Cache is the service's cache; ingest puts what a streamer pushes here
// into it, so this edge serves it at once.
func (svc *Service) Cache() *cache.Cache { return svc.cache }

// Counters are the fill and prefetch counters.
func (svc *Service) Counters() *Counters { return svc.srv.Counters() }

// OriginInFlight is how many origin requests are in flight.
func (svc *Service) OriginInFlight() int { return svc.srv.OriginInFlight() }

// CacheStats are the cache's lookup counters.
func (svc *Service) CacheStats() cache.Stats { return svc.cache.Stats() }

// AnnounceStats count the announcements applied and those dropped.
type AnnounceStats struct {
	Applied uint64
	announce.Stats
}

// AnnounceStats returns the announcement counters.
func (svc *Service) AnnounceStats() AnnounceStats {
	return AnnounceStats{Applied: svc.played.Load(), Stats: svc.recv.Stats()}
}
