package node

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/relaymesh/relaymesh/config"

	"github.com/relaymesh/relaymesh/mesh/link"
	"github.com/relaymesh/relaymesh/node/hls"
	"github.com/relaymesh/relaymesh/node/hls/cache"
	"github.com/relaymesh/relaymesh/node/hls/fetch"
	"github.com/relaymesh/relaymesh/node/hls/owner"
	"github.com/relaymesh/relaymesh/node/ingest"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/origin"
)

// startHLS builds the origin client, the segment cache (disk tier under
// the data dir) and the HLS server. Nothing here contacts the origin.
func (n *Node) startHLS() error {
	o := n.cfg.Origin
	client, err := origin.New(OriginClientConfig(o))
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.origin = client
	h := n.cfg.HLS
	cc := cache.Config{
		MemoryBytes: int64(h.CacheMemory),
		MutableTTL:  h.PlaylistMaxAge,
		// A fill waits for the origin at most its own call budget, so a
		// miss answers 504 promptly when the origin is down.
		FillTimeout: o.Timeout + time.Second,
		Logger:      n.log.With("component", "hls-cache"),
		Supersedes:  hls.PlaylistSupersedes,
	}
	if h.CacheDisk > 0 {
		cc.Dir, cc.DiskBytes = filepath.Join(n.cfg.Node.DataDir, "hls-cache"), int64(h.CacheDisk)
	}
	if n.hlsCache, err = cache.New(cc); err != nil {
		return fmt.Errorf("node: hls cache: %w", err)
	}
	n.hls, err = hls.New(hls.Config{
		Cache: n.hlsCache, Origin: client, Logger: n.log.With("component", "hls"),
		MaxObjectBytes: int64(h.MaxObject), PlaylistMaxAge: h.PlaylistMaxAge,
		Mesh: hlsMesh{n}, ShieldRegion: h.ShieldRegion,
		Opener:       fetch.Link(n.endpoint, link.KindFetch),
		CachedOpener: fetch.Link(n.endpoint, link.KindFetchCached),
		CacheName:    n.cfg.Node.Name,
		// Every node has the same stream keys: they are the streams the
		// mesh knows without being told (dev's demo among them).
		Streams:           slices.Sorted(maps.Keys(n.cfg.Ingest.StreamKeys)),
		NotFoundTTL:       notFoundTTL(h.OriginNotFoundTTL),
		MaxOriginRequests: h.OriginMaxRequests,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.endpoint.HandleStream(link.KindFetch, n.hls.PeerHandler(n.ctx))
	n.endpoint.HandleStream(link.KindFetchCached, n.hls.CachedPeerHandler(n.ctx))
	n.endpoint.HandleStream(link.KindAnnounce, n.receiveAnnouncement)
	return nil
}

// notFoundTTL maps hls.origin_not_found_ttl (0: off) to hls.Config's
// NotFoundTTL (0: the default, negative: off).
func notFoundTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// hlsMesh shows the HLS fill path the live members and their QUIC
// addresses.
type hlsMesh struct{ n *Node }

func (m hlsMesh) Self() owner.Member {
	return owner.Member{Name: m.n.cfg.Node.Name, Region: m.n.cfg.Node.Region, Addr: m.n.meshAddr.String()}
}

func (m hlsMesh) Members() []owner.Member {
	var out []owner.Member
	for _, mem := range m.n.cluster.Members() {
		if mem.Live() {
			out = append(out, owner.Member{Name: mem.Name, Region: mem.Meta.Region, Addr: mem.Meta.Mesh})
		}
	}
	return out
}

// startIngest opens the spool under the data dir and starts the uploader.
func (n *Node) startIngest() error {
	sp, err := spool.Open(filepath.Join(n.cfg.Node.DataDir, "ingest-spool"), spool.Config{
		MaxBytes:       int64(n.cfg.Ingest.SpoolMax),
		MaxObjectBytes: int64(n.cfg.HLS.MaxObject),
		Logger:         n.log.With("component", "spool"),
	})
	if err != nil {
		return fmt.Errorf("node: ingest spool: %w", err)
	}
	n.spool = sp
	n.ingest, err = ingest.Start(ingest.Config{
		Limits:           ingestLimits(n.cfg),
		Spool:            sp,
		Origin:           n.origin,
		Cache:            n.hlsCache,
		MaxObjectBytes:   int64(n.cfg.HLS.MaxObject),
		WriteThroughWait: n.cfg.Ingest.WriteThroughWait,
		PlaylistMaxAge:   n.cfg.HLS.PlaylistMaxAge,
		OnPlaylist:       n.announcePlaylist,
		Logger:           n.log.With("component", "ingest"),
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// ingestLimits is what a config reload may change in the ingest service.
func ingestLimits(cfg config.Config) ingest.Limits {
	return ingest.Limits{
		Keys:        cfg.Ingest.StreamKeys,
		MinRate:     int64(cfg.Ingest.MinUploadRate),
		RateWindow:  cfg.Ingest.UploadRateWindow,
		MaxPlaylist: int64(cfg.Ingest.MaxPlaylist),
	}
}

// OriginClientConfig is the origin client's config for the origin section
// of a node config.
func OriginClientConfig(o config.Origin) origin.Config {
	return origin.Config{
		Endpoint: o.Endpoint, Bucket: o.Bucket, Region: o.Region,
		AccessKey: o.AccessKey, SecretKey: o.SecretKey, UseTLS: o.UseTLS, Timeout: o.Timeout,
	}
}

// HLSCounters are the HLS fill and prefetch counters (nil before Start).
func (n *Node) HLSCounters() *hls.Counters {
	if n.hls == nil {
		return nil
	}
	return n.hls.Counters()
}

// Spooled is how many pushed objects wait in the ingest spool for the
// origin.
func (n *Node) Spooled() int {
	if n.spool == nil {
		return 0
	}
	return n.spool.Len()
}
