package node

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/hls"
	"github.com/relaymesh/relaymesh/node/ingest"
	"github.com/relaymesh/relaymesh/node/ingest/spool"
	"github.com/relaymesh/relaymesh/origin"
)

// startHLS builds the origin client and the HLS service (its cache's
// disk tier under the data dir). Nothing here contacts the origin.
func (n *Node) startHLS() error {
	o := n.cfg.Origin
	client, err := origin.New(OriginClientConfig(o))
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.origin = client
	h := n.cfg.HLS
	n.hls, err = hls.NewService(n.ctx, hls.ServiceConfig{
		Name:           n.cfg.Node.Name,
		Region:         n.cfg.Node.Region,
		Addr:           n.meshAddr.String(),
		CacheMemory:    int64(h.CacheMemory),
		CacheDir:       filepath.Join(n.cfg.Node.DataDir, "hls-cache"),
		CacheDisk:      int64(h.CacheDisk),
		OriginTimeout:  o.Timeout,
		MaxObjectBytes: int64(h.MaxObject),
		PlaylistMaxAge: h.PlaylistMaxAge,
		ShieldRegion:   h.ShieldRegion,
		// Every node has the same stream keys: they are the streams the
		// mesh knows without being told (dev's demo among them).
		Streams:           slices.Sorted(maps.Keys(n.cfg.Ingest.StreamKeys)),
		NotFoundTTL:       notFoundTTL(h.OriginNotFoundTTL),
		MaxOriginRequests: h.OriginMaxRequests,
	}, hls.Deps{Endpoint: n.endpoint, Members: n.cluster, Origin: client, Logger: n.log})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// notFoundTTL maps hls.origin_not_found_ttl (0: off) to the HLS service's
// NotFoundTTL (0: the default, negative: off).
func notFoundTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
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
	n.ingest, err = ingest.New(ingest.Config{
		Limits:           ingestLimits(n.cfg),
		Spool:            sp,
		Origin:           n.origin,
		Cache:            n.hls.Cache(),
		MaxObjectBytes:   int64(n.cfg.HLS.MaxObject),
		WriteThroughWait: n.cfg.Ingest.WriteThroughWait,
		PlaylistMaxAge:   n.cfg.HLS.PlaylistMaxAge,
		OnPlaylist:       n.hls.Announce,
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

// PlaylistUpdates is how many announced playlists this node applied.
func (n *Node) PlaylistUpdates() uint64 {
	if n.hls == nil {
		return 0
	}
	return n.hls.AnnounceStats().Applied
}

// Spooled is how many pushed objects wait in the ingest spool for the
// origin.
func (n *Node) Spooled() int {
	if n.spool == nil {
		return 0
	}
	return n.spool.Len()
}
