package node

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/relaymesh/relaymesh/node/hls"
)

// metrics is the node's own Prometheus registry. It is per node, not the
// global default, so that several nodes can run in one process (tests,
// `relaymesh dev`) without colliding.
type metrics struct {
	registry *prometheus.Registry
}

func newMetrics(n *Node) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		// Scheduling latency (go_sched_latencies_seconds: how long runnable
		// goroutines waited for a CPU) and the collector's pauses tell an
		// overloaded node from a slow network when chat's tail grows.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsScheduler, collectors.MetricsGC)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&nodeCollector{n: n},
	)
	return &metrics{registry: reg}
}

var (
	descBuildInfo = prometheus.NewDesc("relaymesh_build_info",
		"Build information of the node; the value is always 1.",
		[]string{"version", "go_version", "node", "region"}, nil)
	descMembers = prometheus.NewDesc("relaymesh_members",
		"Cluster members known to this node, by state.", []string{"state"}, nil)
	descMemberEvents = prometheus.NewDesc("relaymesh_member_events_total",
		"Membership events seen by this node.", []string{"event"}, nil)
	descPeerRTT = prometheus.NewDesc("relaymesh_peer_rtt_seconds",
		"Round-trip time to a peer estimated from network coordinates.", []string{"peer", "peer_region"}, nil)
	descHealthScore = prometheus.NewDesc("relaymesh_gossip_health_score",
		"memberlist's local health score: 0 is healthy, higher means this node is slow to answer probes.", nil, nil)
	descReady = prometheus.NewDesc("relaymesh_ready",
		"1 when the node is ready to serve (joined, not draining).", nil, nil)
	descLinkPeers = prometheus.NewDesc("relaymesh_link_peers",
		"Open QUIC connections to peers.", nil, nil)
	descLinkCounters = prometheus.NewDesc("relaymesh_link_events_total",
		"QUIC link events.", []string{"event"}, nil)
	descChatFans = prometheus.NewDesc("relaymesh_chat_fans",
		"Chat WebSocket connections open on this node.", nil, nil)
	descChatRooms = prometheus.NewDesc("relaymesh_chat_rooms",
		"Chat rooms this node holds in memory (with fans here or recent messages).", nil, nil)
	descChatHeld = prometheus.NewDesc("relaymesh_chat_recovery_bytes",
		"Bytes of messages this node's rooms hold for recovery (bounded by chat.recovery_memory).", nil, nil)
	descChatCounters = prometheus.NewDesc("relaymesh_chat_events_total",
		"Chat events on this node: messages published here, relayed to local rooms, refused.", []string{"event"}, nil)
	descLeafParent = prometheus.NewDesc("relaymesh_leaf_parent",
		"The node's NATS leaf parent in the chat tree (value 1); no series when the node is a root.", []string{"parent"}, nil)
	descHLSFills = prometheus.NewDesc("relaymesh_hls_fills_total",
		"Where this node's HLS cache misses were filled from (origin GETs, peer edges, failed peer fetches, the stream's ingest node, ingest node misses), by kind of object (segment, playlist).", []string{"source", "kind"}, nil)
	descHLSEvents = prometheus.NewDesc("relaymesh_hls_events_total",
		"HLS serving events: stale playlists served while the origin was unreachable, segments prefetched from the ingest node, failed prefetches.", []string{"event"}, nil)
	descHLSOriginRefused = prometheus.NewDesc("relaymesh_hls_origin_refused_total",
		"HLS misses answered without asking the origin: a 404 remembered (not_found_cached), a segment of a stream this node does not know (unknown_stream), the cap of origin requests in flight reached (busy, answered 503).", []string{"reason"}, nil)
	descHLSOriginInFlight = prometheus.NewDesc("relaymesh_hls_origin_requests_in_flight",
		"HLS origin requests this node has in flight (at most hls.origin_max_requests).", nil, nil)
	descHLSAnnouncements = prometheus.NewDesc("relaymesh_hls_announcements_total",
		"Live-playlist announcements from peers: applied, dropped as malformed, refused for a version this node does not read (a newer peer).", []string{"result"}, nil)
	descHLSCache = prometheus.NewDesc("relaymesh_hls_cache_requests_total",
		"HLS cache lookups by result.", []string{"result"}, nil)
	descSpool = prometheus.NewDesc("relaymesh_ingest_spooled",
		"Pushed objects waiting in the ingest spool for the origin.", nil, nil)
	descHTTPConns = prometheus.NewDesc("relaymesh_http_connections",
		"HTTP connections open on this node, WebSockets included.", nil, nil)
	descHTTPConnLimit = prometheus.NewDesc("relaymesh_http_connection_limit",
		"The node's connection caps (scope per_node, and per_ip: 0 is off).", []string{"scope"}, nil)
	descHTTPConnEvents = prometheus.NewDesc("relaymesh_http_connections_total",
		"HTTP connections accepted, and refused with 503 at the per-IP or per-node cap.", []string{"result"}, nil)
	descHTTPTimeouts = prometheus.NewDesc("relaymesh_http_timeouts_total",
		"HTTP connections cut by a deadline: read (a request, its headers or body, stalled; slow uploads included) or idle (a keep-alive connection waited too long).", []string{"kind"}, nil)
	descIngestEvents = prometheus.NewDesc("relaymesh_ingest_events_total",
		"Refused or failed pushes: uploads cut below the minimum rate, bodies over their bound, bodies of .m3u8 that are not playlists, bodies that broke off, pushed segments not read back into the cache.", []string{"event"}, nil)
	descLeafConns = prometheus.NewDesc("relaymesh_nats_leaf_connections",
		"NATS leaf connections of this node's server (parent and children).", nil, nil)
)

// nodeCollector reads the node's state at scrape time, so nothing has to
// keep gauges in step with membership.
type nodeCollector struct{ n *Node }

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBuildInfo, descMembers, descMemberEvents, descPeerRTT,
		descHealthScore, descReady, descLinkPeers, descLinkCounters, descChatFans, descChatRooms, descChatHeld, descChatCounters,
		descLeafParent, descLeafConns, descHLSFills, descHLSEvents, descHLSOriginRefused, descHLSOriginInFlight,
		descHLSCache, descHLSAnnouncements, descSpool, descHTTPConns, descHTTPConnLimit, descHTTPConnEvents, descHTTPTimeouts, descIngestEvents} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1,
		BuildVersion(), runtime.Version(), n.cfg.Node.Name, n.cfg.Node.Region)
	ready, _ := n.Ready()
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, boolFloat(ready))

	if n.cluster != nil {
		byState := map[string]float64{"alive": 0, "dead": 0, "left": 0}
		for _, m := range n.cluster.Members() {
			byState[string(m.State)]++
			if m.HasRTT {
				ch <- prometheus.MustNewConstMetric(descPeerRTT, prometheus.GaugeValue,
					m.RTT.Seconds(), m.Name, m.Meta.Region)
			}
		}
		for state, v := range byState {
			ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, v, state)
		}
		s := n.cluster.Stats()
		for event, v := range map[string]uint64{"join": s.Joins, "leave": s.Leaves, "fail": s.Fails,
			"update": s.Updates, "coordinate_rejected": s.RejectedCoordinates, "packet_dropped": s.DroppedPackets} {
			ch <- prometheus.MustNewConstMetric(descMemberEvents, prometheus.CounterValue, float64(v), event)
		}
		ch <- prometheus.MustNewConstMetric(descHealthScore, prometheus.GaugeValue, float64(s.HealthScore))
	}
	if n.chat != nil {
		s := n.chat.Stats()
		ch <- prometheus.MustNewConstMetric(descChatFans, prometheus.GaugeValue, float64(s.Fans))
		ch <- prometheus.MustNewConstMetric(descChatRooms, prometheus.GaugeValue, float64(s.Rooms))
		ch <- prometheus.MustNewConstMetric(descChatHeld, prometheus.GaugeValue, float64(s.HeldBytes))
		for event, v := range map[string]float64{"published": float64(s.Published), "publish_failed": float64(s.PublishFailed),
			"relayed": float64(s.Relayed), "relayed_live": float64(s.RelayedLive), "live_out_of_order": float64(s.LiveSkipped),
			"rate_limited": float64(s.RateLimited), "bad_frame": float64(s.BadFrames), "too_slow": float64(s.SlowFans),
			"malformed_stored": float64(s.Malformed), "recovery_trimmed": float64(s.HeldTrimmed)} {
			ch <- prometheus.MustNewConstMetric(descChatCounters, prometheus.CounterValue, v, event)
		}
	}
	if n.hls != nil {
		c := n.hls.Counters()
		for kind, fc := range map[string]*hls.FillCounters{"segment": &c.Segments, "playlist": &c.Playlists} {
			for src, v := range map[string]uint64{"origin": fc.OriginGets.Load(), "peer": fc.PeerFetches.Load(), "peer_failed": fc.PeerFails.Load(),
				"ingest": fc.SourceFetches.Load(), "ingest_missed": fc.SourceMisses.Load()} {
				ch <- prometheus.MustNewConstMetric(descHLSFills, prometheus.CounterValue, float64(v), src, kind)
			}
		}
		for event, v := range map[string]uint64{"stale_served": c.StaleServed.Load(), "prefetched": c.Prefetched.Load(), "prefetch_failed": c.PrefetchFails.Load()} {
			ch <- prometheus.MustNewConstMetric(descHLSEvents, prometheus.CounterValue, float64(v), event)
		}
		for reason, v := range map[string]uint64{"not_found_cached": c.NotFoundCached.Load(),
			"unknown_stream": c.UnknownRefused.Load(), "busy": c.OriginBusy.Load()} {
			ch <- prometheus.MustNewConstMetric(descHLSOriginRefused, prometheus.CounterValue, float64(v), reason)
		}
		ch <- prometheus.MustNewConstMetric(descHLSOriginInFlight, prometheus.GaugeValue, float64(n.hls.OriginInFlight()))
		st := n.hls.CacheStats()
		for res, v := range map[string]uint64{"memory_hit": st.MemoryHits, "disk_hit": st.DiskHits, "miss": st.Misses} {
			ch <- prometheus.MustNewConstMetric(descHLSCache, prometheus.CounterValue, float64(v), res)
		}
		a := n.hls.AnnounceStats()
		for result, v := range map[string]uint64{"applied": a.Applied, "malformed": a.Malformed, "unknown_version": a.UnknownVersion} {
			ch <- prometheus.MustNewConstMetric(descHLSAnnouncements, prometheus.CounterValue, float64(v), result)
		}
	}
	if n.httpLn != nil {
		s, lim := n.httpLn.Stats(), n.httpLn.Limits()
		ch <- prometheus.MustNewConstMetric(descHTTPConns, prometheus.GaugeValue, float64(s.Open))
		ch <- prometheus.MustNewConstMetric(descHTTPConnLimit, prometheus.GaugeValue, float64(lim.PerNode), "per_node")
		ch <- prometheus.MustNewConstMetric(descHTTPConnLimit, prometheus.GaugeValue, float64(lim.PerIP), "per_ip")
		for result, v := range map[string]uint64{"accepted": s.Accepted, "refused_per_ip": s.RefusedPerIP, "refused_per_node": s.RefusedPerNode} {
			ch <- prometheus.MustNewConstMetric(descHTTPConnEvents, prometheus.CounterValue, float64(v), result)
		}
		for kind, v := range map[string]uint64{"read": s.ReadTimeouts, "idle": s.IdleTimeouts} {
			ch <- prometheus.MustNewConstMetric(descHTTPTimeouts, prometheus.CounterValue, float64(v), kind)
		}
	}
	if n.ingest != nil {
		s := n.ingest.Stats()
		for event, v := range map[string]uint64{"slow_upload_cut": s.SlowUploads, "too_large": s.TooLarge,
			"bad_playlist": s.BadPlaylists, "read_failed": s.ReadFailures, "cache_put_failed": s.LocalCacheMisses} {
			ch <- prometheus.MustNewConstMetric(descIngestEvents, prometheus.CounterValue, float64(v), event)
		}
	}
	if n.spool != nil {
		ch <- prometheus.MustNewConstMetric(descSpool, prometheus.GaugeValue, float64(n.spool.Len()))
	}
	if n.leaf != nil {
		if p := n.leaf.Parent(); p.Name != "" {
			ch <- prometheus.MustNewConstMetric(descLeafParent, prometheus.GaugeValue, 1, p.Name)
		}
	}
	if n.nats != nil {
		ch <- prometheus.MustNewConstMetric(descLeafConns, prometheus.GaugeValue, float64(n.nats.LeafCount()))
	}
	if n.endpoint != nil {
		s := n.endpoint.Stats()
		ch <- prometheus.MustNewConstMetric(descLinkPeers, prometheus.GaugeValue, float64(s.Peers))
		for event, v := range map[string]uint64{
			"dial": s.Dials, "dial_failure": s.DialFailures, "accept": s.Accepted,
			"datagram_sent": s.DatagramsSent, "datagram_received": s.DatagramsReceived,
			"datagram_dropped": s.DatagramsDropped, "datagram_stream_fallback": s.UniFallbacks,
			"stream_opened": s.StreamsOpened, "stream_accepted": s.StreamsAccepted, "stream_refused": s.StreamsRefused,
		} {
			ch <- prometheus.MustNewConstMetric(descLinkCounters, prometheus.CounterValue, float64(v), event)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
