package config

import "time"

// Config is the whole configuration of one node. The zero value is not
// useful; start from Defaults or use Parse/Load.
type Config struct {
	Node   Node   `yaml:"node"`
	HTTP   HTTP   `yaml:"http"`
	Mesh   Mesh   `yaml:"mesh"`
	TLS    TLS    `yaml:"tls"`
	Origin Origin `yaml:"origin"`
	Chat   Chat   `yaml:"chat"`
	HLS    HLS    `yaml:"hls"`
	Ingest Ingest `yaml:"ingest"`
	Log    Log    `yaml:"log"`
}

// Node identifies this node within the cluster.
type Node struct {
	// Name is the node's unique name in the cluster: the gossip member name,
	// the NATS server name and the label on its metrics. It must be a DNS
	// label (^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$) so it can also appear in
	// host names. Default: os.Hostname(), lowercased, with every character
	// outside [a-z0-9-] turned into "-". The full host name is kept (dots
	// become hyphens) rather than only its first label, because cloud
	// host names such as ip-10-0-1-5 repeat across regions with the same
	// VPC ranges. Two nodes with one name fight over it until
	// Mesh.DeadNodeReclaim lets the newer one win, so set it explicitly
	// (RELAYMESH_NODE_NAME) when host names are not unique.
	Name string `yaml:"name"`

	// Region is the region this node runs in, one of regions.Names(). It is
	// required: there is no safe default, because the region decides the
	// node's rank in the chat tree and which fans the edge directory sends
	// here. A wrong region still works, just with longer paths.
	Region string `yaml:"region"`

	// DataDir holds the node's durable state (chat history, segment cache,
	// ingest spool). Default "/var/lib/relaymesh". It should be on local disk
	// that survives restarts; a tmpfs loses the spool of a killed node.
	DataDir string `yaml:"data_dir"`
}

// HTTP is the one HTTP server of the node.
type HTTP struct {
	// Listen is the host:port the HTTP server binds. Default ":8080"
	// (DefaultHTTPPort on every interface). Fans (chat WebSocket, HLS),
	// streamers (ingest) and ops (health, metrics, dashboard) all use it, so
	// one port opens the node to everything. Port 0 picks a free port, for
	// tests.
	Listen string `yaml:"listen"`

	// Advertise is the host:port other nodes and the edge directory hand out
	// to fans to reach this node. Default empty, meaning the mesh advertise
	// host with the Listen port (see Config.HTTPAdvertise). Set it when fans
	// reach the node through a different name or port than the mesh does,
	// e.g. a public DNS name in front of a private mesh address.
	Advertise string `yaml:"advertise"`

	// ShutdownTimeout is how long SIGTERM waits for fans and streamers to
	// drain before connections are closed. Default 15s: long enough for HLS
	// players to fetch their next segment elsewhere and for chat clients to
	// reconnect, short enough for rolling restarts and the 30s grace period
	// most orchestrators give.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// ReadHeaderTimeout bounds reading a request's line and headers.
	// Default 10s: a phone on a bad link sends a few hundred bytes well
	// within it; a client that sends headers a byte at a time (slowloris)
	// holds a connection no longer. At most ReadTimeout.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`

	// ReadTimeout bounds reading a whole request, body included, on every
	// route but ingest uploads (which must keep Ingest.MinUploadRate
	// instead). Default 30s: fans and ops send no or tiny bodies, so a
	// request still unread after it is a stall (Content-Length: 100000 and
	// one byte). It also ends a handler's request context, so it must
	// exceed the longest wait of a handler (an HLS miss waits up to
	// origin.timeout). WebSockets are exempt: the server clears a
	// connection's deadlines when it is hijacked.
	ReadTimeout time.Duration `yaml:"read_timeout"`

	// WriteTimeout bounds writing a response, from the end of the request's
	// headers. Default 60s: a 64MiB segment needs 9 Mbit/s to make it, and
	// a player slower than that cannot play the stream anyway; a client
	// that never reads is cut after it. Ingest uploads and WebSockets are
	// exempt (their handlers set their own deadlines).
	WriteTimeout time.Duration `yaml:"write_timeout"`

	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request. Default 60s: longer than a player's reload interval
	// (a target duration, 2-6s), so players keep their connection, while an
	// idle one gives its descriptor back within a minute.
	IdleTimeout time.Duration `yaml:"idle_timeout"`

	// MaxHeaderBytes bounds a request's line and headers. Default 32KiB:
	// browsers send a few KiB, cookies included; every connection may hold
	// this much while its headers arrive. 1KiB-1MiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`

	// MaxConnsPerIP caps the open connections (WebSockets included) of one
	// client address; IPv6 clients are grouped by /64, the block one
	// subscriber gets. Excess connections get 503 with Retry-After. Default
	// 1000: a carrier-grade NAT or a campus puts many fans behind one
	// address, and one attacker address still gets a fifteenth of a node.
	// 0 turns the cap off (`relaymesh dev`, where every fan is 127.0.0.1).
	// Reloaded on SIGHUP.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`

	// MaxConns caps the node's open HTTP connections. Default 0: derived
	// from the process's file descriptor limit (RLIMIT_NOFILE) minus a
	// reserve of a quarter of it (at least 256, at most 4096) for the chat
	// store, the spool, the cache and NATS, so that accept never fails and
	// JetStream never hits "too many open files" (20,000 descriptors give
	// 15,904 connections). Set it explicitly only below that. Reloaded on
	// SIGHUP.
	MaxConns int `yaml:"max_conns"`

	// RetryAfter is what the Retry-After header of a connection refusal
	// (503) says. Default 5s: refused fans come back soon, spread by their
	// own jitter, or go to another edge. Whole seconds, 1s-1h. Reloaded on
	// SIGHUP.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Mesh configures membership (gossip) and the QUIC links between nodes. The
// timers follow memberlist's WAN profile, adjusted for the four regions'
// round trips (worst measured p50 231 ms, Seoul-Frankfurt).
type Mesh struct {
	// Listen is the UDP host:port for all inter-node traffic: gossip, probes,
	// state sync and the NATS leaf links all run over QUIC on this one port,
	// so ops open a single port and tests can emulate the WAN in one place.
	// Default ":7946" (DefaultMeshPort, memberlist's usual port). Port 0 picks
	// a free port, for tests.
	Listen string `yaml:"listen"`

	// Advertise is the host:port peers dial to reach this node. Default
	// empty, meaning Listen; it is therefore required when the Listen host is
	// unspecified (empty, 0.0.0.0 or ::), because "any interface" is not an
	// address another node can dial. Behind NAT or with an elastic IP set it
	// to the public address, usually per host via RELAYMESH_MESH_ADVERTISE.
	Advertise string `yaml:"advertise"`

	// Seeds are host:port addresses of other nodes to join at start. Any one
	// live seed is enough; listing one node (or DNS name) per region survives
	// the loss of a region. Default empty: this is the first node of a new
	// cluster. A node's own address may appear (all nodes can share one list).
	Seeds []string `yaml:"seeds"`

	// JoinRetryMin is the first wait before retrying a failed join; the wait
	// doubles up to JoinRetryMax. Default 500ms: a seed that is restarting
	// comes back within a few retries without a thundering herd.
	JoinRetryMin time.Duration `yaml:"join_retry_min"`

	// JoinRetryMax caps the join backoff. Default 30s: a node that starts
	// before every seed is reachable still joins within half a minute of one
	// coming up, and a large fleet does not hammer a seed that is down.
	JoinRetryMax time.Duration `yaml:"join_retry_max"`

	// LeaveTimeout is how long a graceful shutdown waits for the leave
	// intent to gossip out. Default 5s: enough for ~25 gossip rounds across
	// the regions; too short and peers see a failure (suspect, then dead)
	// instead of a clean leave.
	LeaveTimeout time.Duration `yaml:"leave_timeout"`

	// ProbeInterval is how often a node probes one random peer for liveness.
	// Default 1s (memberlist LAN; WAN uses 5s). Lower detects failures faster
	// at the cost of more probe traffic; with tens of nodes the traffic is
	// negligible and fans on a dead edge reconnect sooner.
	ProbeInterval time.Duration `yaml:"probe_interval"`

	// ProbeTimeout is how long a direct probe waits for its ack before
	// falling back to indirect probes. Default 600ms. It must be less than
	// ProbeInterval and should exceed the worst inter-region RTT (231 ms
	// Seoul-Frankfurt) with room for jitter, or healthy remote nodes are
	// suspected on every probe. Validation requires that only with
	// WANEmulation on; Warnings reports it otherwise.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`

	// SuspicionMult scales how long a suspected node has to refute before it
	// is declared dead: SuspicionMult * log10(max(1, nodes)) * ProbeInterval.
	// Default 4 (memberlist LAN). Higher tolerates longer network hiccups at
	// the cost of slower failover for fans; must be at least 1.
	SuspicionMult int `yaml:"suspicion_mult"`

	// GossipInterval is how often a node gossips queued updates to a few
	// random peers. Default 200ms (memberlist LAN). Lower spreads joins and
	// failures faster across regions at the cost of more small packets.
	GossipInterval time.Duration `yaml:"gossip_interval"`

	// PushPullInterval is how often a node does a full state sync with a
	// random peer, repairing anything gossip missed (e.g. after a partition).
	// Default 30s (memberlist LAN). Cost grows with cluster size; fine for
	// tens of nodes.
	PushPullInterval time.Duration `yaml:"push_pull_interval"`

	// StreamTimeout bounds each stream-based exchange with a peer (push/pull
	// sync, fallback probes), memberlist's TCPTimeout. Default 10s (memberlist
	// LAN): generous for a cross-region handshake plus a state transfer,
	// short enough that a hung peer does not stall the sync loop.
	StreamTimeout time.Duration `yaml:"stream_timeout"`

	// DeadNodeReclaim is how long after a node is declared dead its name may
	// rejoin from another address. Default 60s: a replaced instance with a
	// new IP rejoins under the same name after a minute, while a flapping old
	// instance cannot steal the name right away. Zero is not allowed: it would
	// let two live nodes with the same name flip-flop.
	DeadNodeReclaim time.Duration `yaml:"dead_node_reclaim"`

	// WANEmulation delays every inter-node packet by the one-way latency of
	// the regions model between the two nodes' regions (regions.OneWay).
	// Default false. Only for local multi-region runs (`relaymesh dev`) and
	// tests on one machine; never in production, where the real WAN already
	// adds the delay.
	WANEmulation bool `yaml:"wan_emulation"`
}

// TLS is the cluster's mutual TLS for the QUIC links between nodes. Set all
// three files or none. Node startup requires them (the mesh refuses to run
// unauthenticated); `relaymesh dev` generates its own CA and certificates, so
// local runs leave them empty.
type TLS struct {
	// CAFile is the PEM file of the cluster CA. Peers must present a
	// certificate signed by it, and this node's certificate must be too.
	// Default empty.
	CAFile string `yaml:"ca_file"`

	// CertFile is the PEM certificate this node presents to peers, for both
	// client and server auth. Default empty.
	CertFile string `yaml:"cert_file"`

	// KeyFile is the PEM private key of CertFile. Default empty. Keep it
	// readable only by the relaymesh user.
	KeyFile string `yaml:"key_file"`
}

// Origin is the S3-compatible object store that holds every stream's
// segments and archived chat; edges cache from it and ingest writes to it.
type Origin struct {
	// Endpoint is the S3 API host[:port], without a scheme (UseTLS picks
	// https or http), e.g. "s3.us-east-1.amazonaws.com" or "minio:9000".
	// Required: there is no sensible default origin.
	Endpoint string `yaml:"endpoint"`

	// Bucket is the bucket holding all streams. Required; S3 naming rules
	// apply (3-63 characters of lowercase letters, digits, dots and hyphens,
	// starting and ending with a letter or digit).
	Bucket string `yaml:"bucket"`

	// Region is the bucket's region, used to sign requests. Default
	// "us-east-1", what MinIO and most S3-compatible stores expect. It is
	// the storage region, unrelated to Node.Region.
	Region string `yaml:"region"`

	// AccessKey is the S3 access key ID. Set both AccessKey and SecretKey or
	// neither. Default empty: the node then uses AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY or the instance role, which keeps secrets out of
	// the file and is what the Terraform deployment does.
	AccessKey string `yaml:"access_key"`

	// SecretKey is the S3 secret key, see AccessKey. Default empty. It is
	// blanked by Config.Redacted before a config is logged or served.
	SecretKey string `yaml:"secret_key"`

	// UseTLS selects https for origin calls. Default true; false only for a
	// local origin (e.g. the embedded one of `relaymesh dev`) on a trusted
	// network.
	UseTLS bool `yaml:"use_tls"`

	// Timeout bounds each origin call. Default 10s: a 2-6s video segment
	// must arrive well before the player's buffer runs dry, and a slower call
	// is better retried than waited on.
	Timeout time.Duration `yaml:"timeout"`
}

// HLS configures how the edge serves playlists and media segments to
// players: its cache and the limits of one object.
type HLS struct {
	// CacheMemory bounds the in-memory cache of segments and playlists.
	// Default 256MiB: a few minutes of a handful of renditions of the live
	// streams, which is what players ask for; the disk tier holds the rest.
	CacheMemory ByteSize `yaml:"cache_memory"`

	// CacheDisk bounds the on-disk segment cache under node.data_dir, which
	// survives restarts. Default 10GiB; 0 turns the disk tier off (memory
	// only, a cold cache after every restart).
	CacheDisk ByteSize `yaml:"cache_disk"`

	// PlaylistMaxAge is how long a live playlist is cached and what
	// Cache-Control tells players. Default 1s, under half a typical 2-4s
	// segment: players see new segments promptly.
	PlaylistMaxAge time.Duration `yaml:"playlist_max_age"`

	// MaxObject is the largest playlist or segment the edge will fetch and
	// cache. Default 64MiB: far above any sane HLS segment; bigger objects
	// are refused (502) rather than buffered.
	MaxObject ByteSize `yaml:"max_object"`

	// ShieldRegion, if set, is the region whose edges alone fetch from the
	// origin: every other region's owner of a segment fills from the shield
	// region's owner, so the whole mesh makes one origin GET per segment.
	// Default empty: each region's owner fetches from the origin itself
	// (one GET per segment per region, each from the nearest path). Pick
	// the region nearest the origin bucket.
	ShieldRegion string `yaml:"shield_region"`

	// OriginNotFoundTTL is how long a 404 from the origin is remembered and
	// answered without asking again. Default 3s: a missing key that every
	// player (or a flood of requests) asks for costs one origin GET per 3s
	// instead of one per request; an object uploaded meanwhile is seen up
	// to that late, except segments a playlist lists, whose 404 (the
	// origin behind the ingest node) is never remembered. 0 turns it off.
	OriginNotFoundTTL time.Duration `yaml:"origin_not_found_ttl"`

	// OriginMaxRequests caps the origin requests this node has in flight.
	// A miss over the cap is answered 503 with Retry-After: 1 at once (or
	// with the stale playlist, if there is one) rather than queued: a
	// queued fill holds a goroutine and its players' connections for up to
	// origin.timeout, which is what a flood wants, and players retry a 503.
	// Playlists of streams the node does not know (not in
	// ingest.stream_keys, not announced, listed nowhere) take at most an
	// eighth of it. Default 64: one fill per key makes the live renditions
	// of dozens of streams need far fewer; lower protects the origin more,
	// higher suits a node filling a cold cache for many streams at once.
	OriginMaxRequests int `yaml:"origin_max_requests"`
}

// Ingest configures how streamers push HLS to the node (PUT and DELETE
// under /ingest/, what ffmpeg -f hls -method PUT sends).
type Ingest struct {
	// StreamKeys maps each stream a streamer may push to its key, sent as
	// "Authorization: Bearer KEY". Default empty: ingest is refused for every
	// stream. Keys must be at least 16 characters; every node of the mesh
	// needs the same map, since a streamer may push to any node. Blanked by
	// Config.Redacted. Reloaded on SIGHUP.
	StreamKeys map[string]string `yaml:"stream_keys"`

	// WriteThroughWait is how long a push waits for the origin to confirm
	// the object before it is acknowledged as spooled instead (202). Default
	// 2s: a healthy origin answers well within it; a down origin must not
	// stall the streamer past a segment's duration.
	WriteThroughWait time.Duration `yaml:"write_through_wait"`

	// SpoolMax bounds the disk under node.data_dir that holds pushed objects
	// the origin has not confirmed yet. Default 1GiB: over an hour of a
	// typical stream's renditions. When full, pushes get 507.
	SpoolMax ByteSize `yaml:"spool_max"`

	// MinUploadRate is the slowest a pushed body may arrive, in bytes per
	// second, measured over each UploadRateWindow; a slower upload is cut
	// (408). It replaces http.read_timeout for uploads, which would cut a
	// big segment however fast it came. Default 16KiB: a 6 Mbit/s
	// rendition uploads at 750 KB/s or it falls behind live anyway, while a
	// client trickling a byte every 2s is cut in one window. Reloaded on
	// SIGHUP.
	MinUploadRate ByteSize `yaml:"min_upload_rate"`

	// UploadRateWindow is the span over which MinUploadRate is measured,
	// and so how long a stalled upload holds its connection. Default 10s:
	// rides out a streamer's Wi-Fi hiccup. 100ms-5m. Reloaded on SIGHUP.
	UploadRateWindow time.Duration `yaml:"upload_rate_window"`

	// MaxPlaylist bounds a pushed playlist (.m3u8), which is parsed and
	// announced to every edge. Default 256KiB: a live playlist of a few
	// segments is a few KiB, an event playlist of hours a few hundred.
	// Bodies that do not parse as playlists are refused (400). 1KiB up to
	// hls.max_object. Reloaded on SIGHUP.
	MaxPlaylist ByteSize `yaml:"max_playlist"`
}

// Chat configures the fan chat (the protocol is docs/chat-protocol.md):
// what a joining or reconnecting fan is sent, the abuse limits, and the
// embedded NATS server's optional client port for backend services.
type Chat struct {
	// HistoryOnJoin is how many of a room's latest messages a fan gets when
	// it joins without since= (a first visit, not a reconnect). Default 50:
	// a screenful of context. Every join costs this many frames, and after an
	// edge dies all of its fans rejoin at once, so large values multiply.
	// 0 sends none; at most 1000, and at most RecoveryWindow, so join history
	// is served from memory like recovery.
	HistoryOnJoin int `yaml:"history_on_join"`

	// RecoveryWindow is how many of each room's latest messages the node
	// keeps in memory to resume reconnecting fans from their since= marks.
	// Default 1000: at a busy room's 20 messages a second that is 50s of
	// chat, far longer than a fan takes to notice a dead edge and reconnect.
	// A fan that missed more gets what the window holds and a synced frame
	// with complete=false. Memory is about 300 bytes per message per room
	// with traffic. 1-100000.
	RecoveryWindow int `yaml:"recovery_window"`

	// RecoveryMemory bounds the bytes of messages all rooms together hold
	// for recovery: rooms times RecoveryWindow has no bound of its own, and
	// any fan can open a room. Past it, a room that gets a message drops its
	// oldest ones down to its share (RecoveryMemory / rooms), so the total
	// stays under twice this; a resume from before what a room dropped gets
	// complete=false. Default 512MiB. 1MiB-1TiB.
	RecoveryMemory ByteSize `yaml:"recovery_memory"`

	// Retention is how long the node's chat store keeps messages; older ones
	// are deleted (the archive in the origin keeps them). Default 720h (30
	// days, the platform's retention). Longer costs local disk on every node,
	// since every node stores every room. At least 1m.
	Retention time.Duration `yaml:"retention"`

	// RatePerSecond is how many messages per second each client IP may
	// publish, sustained (a token bucket; over it, error rate_limited and the
	// message is dropped). Default 5, the platform's spam limit. Fans behind
	// one NAT share a bucket, so a campus or mobile carrier may need more;
	// load tests from one machine need far more. Must be positive.
	RatePerSecond float64 `yaml:"rate_per_second"`

	// RateBurst is how many messages an IP may publish at once before
	// RatePerSecond applies (the bucket's size). Default 10: a fan can paste
	// a few lines quickly, a script cannot flood. At least 1.
	RateBurst int `yaml:"rate_burst"`

	// MaxTextBytes is the longest message text in UTF-8 bytes: 500 is 500
	// Latin letters but about 166 Korean or Japanese characters (3 bytes
	// each). Default 500. Every message is relayed to every node and kept
	// 30 days, so the size is paid many times. 1-16384.
	MaxTextBytes int `yaml:"max_text_bytes"`

	// MaxFrameBytes is the largest client WebSocket frame, refused before it
	// is parsed. Default 4096 (4 KiB). It must exceed MaxTextBytes + 256 for
	// the JSON envelope and nonce; JSON escaping can double a text (a "\" for
	// every quote), which the default allows for. At most 1048576 (1 MiB).
	MaxFrameBytes int `yaml:"max_frame_bytes"`

	// PresenceInterval is how often a room's presence counts are recomputed
	// and pushed to its fans when they changed (and shared with other nodes).
	// Default 1s: counts feel live; PresenceFrames bounds what they cost.
	// At least 100ms.
	PresenceInterval time.Duration `yaml:"presence_interval"`

	// PresenceFrames bounds the presence frames a node pushes to its fans,
	// per second. While a big audience joins, every room's count changes
	// every interval; the rooms pushed longest ago go first and the rest
	// wait, so presence never costs more writes than this, whatever the
	// churn. Default 2000. 1-1,000,000.
	PresenceFrames int `yaml:"presence_frames"`

	// SendBuffer is how many bytes of frames may wait for one fan beyond
	// what its socket holds (the kernel's buffer is capped at 64 KiB per
	// fan). A fan that falls this far behind (a stalled phone, a tab in the
	// background) is closed with WebSocket status 1008 (too_slow) rather
	// than slowing the room or eating memory; it reconnects with since= and
	// loses nothing the recovery window holds. Default 256 KiB: about 1,000
	// messages, seconds of the busiest room. Memory is spent only while a
	// fan is behind. 4 KiB-64 MiB.
	SendBuffer ByteSize `yaml:"send_buffer"`

	// DrainTimeout bounds how long writing out what waits for one fan may
	// take, the join replay included. A fan that reads, however slowly,
	// keeps up; one that stopped reading is closed (1008) at this bound,
	// which is also how long a dead fan can pin its buffers. Default 10s.
	// 1s-5m.
	DrainTimeout time.Duration `yaml:"drain_timeout"`

	// BatchWindow: while a room's messages come faster than one per
	// window, each fan gets at most one write per window carrying every
	// message since the last one, so the per-fan write rate is bounded
	// whatever the room's rate. A quiet room's messages go out at once.
	// Default 50ms: faster than anyone reads, and it adds at most 50ms to a
	// busy room's latency. 0 turns batching off; at most 1s.
	BatchWindow time.Duration `yaml:"batch_window"`

	// PingInterval is how often the node sends every fan a WebSocket ping.
	// A fan that sends nothing, not even the pong, for two intervals (plus
	// 5s) is disconnected: that is how dead connections (a phone that left
	// coverage) are found. Default 20s, under the idle timeouts of common
	// proxies and mobile carriers. 1s-10m.
	PingInterval time.Duration `yaml:"ping_interval"`

	// NATSClientListen is the host:port of the embedded NATS server's client
	// port, for backend services (moderation bots, overlays). Default empty:
	// off. The node's own code uses an in-process connection and needs no
	// port. When set, NATSUser and NATSPassword are required; bind it to a
	// private address, as it gives access to every room.
	NATSClientListen string `yaml:"nats_client_listen"`

	// NATSUser is the user name backend services log in with on
	// NATSClientListen. Default empty; required (with NATSPassword) when
	// NATSClientListen is set.
	NATSUser string `yaml:"nats_user"`

	// NATSPassword is NATSUser's password. Default empty; set together with
	// NATSUser. It is blanked by Config.Redacted before a config is logged
	// or served.
	NATSPassword string `yaml:"nats_password"`
}

// Log configures the node's structured log.
type Log struct {
	// Level is the minimum level logged: debug, info, warn or error. Default
	// info; debug logs every gossip and link event and is for diagnosis only.
	Level string `yaml:"level"`

	// Format is json or text. Default json, what log shippers parse; text is
	// easier to read in a terminal.
	Format string `yaml:"format"`
}
