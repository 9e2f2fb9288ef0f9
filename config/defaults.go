package config

import (
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultHTTPPort is the port of the HTTP server for fans, streamers and
	// ops. The Terraform security groups and health checks are tested
	// against it.
	DefaultHTTPPort = 8080

	// DefaultMeshPort is the single UDP port of all inter-node traffic,
	// memberlist's customary port. The Terraform security groups are tested
	// against it.
	DefaultMeshPort = 7946
)

// Defaults returns the configuration used for every field a file or the
// environment leaves unset. It is the only place defaults live; the field
// comments in types.go explain each trade-off.
//
// Region, Origin.Endpoint and Origin.Bucket have no default, and neither has
// Mesh.Advertise when Mesh.Listen binds every interface, so Defaults alone
// does not pass Validate.
func Defaults() Config {
	return Config{
		Node: Node{
			Name:    defaultNodeName(os.Hostname), // unique per host without per-host config
			Region:  "",                           // required: a wrong guess silently lengthens paths
			DataDir: "/var/lib/relaymesh",         // FHS place for a daemon's state
		},
		HTTP: HTTP{
			Listen:          ":" + strconv.Itoa(DefaultHTTPPort), // every interface: fans, streamers and ops
			Advertise:       "",                                  // derived: mesh advertise host, HTTP port
			ShutdownTimeout: 15 * time.Second,                    // fans refetch or reconnect elsewhere in time

			ReadHeaderTimeout: 10 * time.Second, // a bad link sends headers in time; slowloris does not
			ReadTimeout:       30 * time.Second, // no fan route takes a body; past it a request stalls
			WriteTimeout:      60 * time.Second, // a 64MiB segment at 9 Mbit/s; non-readers are cut
			IdleTimeout:       60 * time.Second, // players keep their connection between reloads
			MaxHeaderBytes:    32 << 10,         // browsers send a few KiB
			MaxConnsPerIP:     1000,             // a NAT of fans fits; one address gets 1/15 of a node
			MaxConns:          0,                // derived: RLIMIT_NOFILE minus a reserve
			RetryAfter:        5 * time.Second,  // refused fans come back soon or go elsewhere
		},
		Mesh: Mesh{
			Listen:           ":" + strconv.Itoa(DefaultMeshPort), // one UDP port for everything
			Advertise:        "",                                  // derived from Listen when its host is specific
			Seeds:            nil,                                 // none: first node of a new cluster
			JoinRetryMin:     500 * time.Millisecond,              // a restarting seed is back within a few tries
			JoinRetryMax:     30 * time.Second,                    // joins within 30s of a seed coming up
			LeaveTimeout:     5 * time.Second,                     // ~25 gossip rounds for the leave to spread
			ProbeInterval:    time.Second,                         // fast failure detection; tiny traffic at our size
			ProbeTimeout:     600 * time.Millisecond,              // > 231ms worst RTT with jitter room, < interval
			SuspicionMult:    4,                                   // memberlist LAN: few false deaths, quick failover
			GossipInterval:   200 * time.Millisecond,              // memberlist LAN: spreads news in ~1s
			PushPullInterval: 30 * time.Second,                    // memberlist LAN: repairs missed gossip
			StreamTimeout:    10 * time.Second,                    // memberlist TCPTimeout: cross-region sync fits
			DeadNodeReclaim:  60 * time.Second,                    // a replaced host gets its name back in a minute
			WANEmulation:     false,                               // production has a real WAN
		},
		TLS: TLS{}, // none: production sets all three, `relaymesh dev` makes its own
		Origin: Origin{
			Endpoint:  "",               // required: no sensible default origin
			Bucket:    "",               // required
			Region:    "us-east-1",      // what MinIO and most S3-compatible stores expect
			AccessKey: "",               // instance role or AWS_* environment keeps secrets out of files
			SecretKey: "",               // set together with AccessKey or not at all
			UseTLS:    true,             // origins are remote; plain http only for local runs
			Timeout:   10 * time.Second, // a segment must arrive well before the buffer runs dry
		},
		Chat: Chat{
			HistoryOnJoin:    50,                    // a screenful of context
			RecoveryWindow:   1000,                  // ~50s of a busy room: longer than any reconnect
			RecoveryMemory:   512 << 20,             // ~1,700 full rooms of ~300-byte messages
			Retention:        30 * 24 * time.Hour,   // the platform's 30 days; the origin archive keeps the rest
			RatePerSecond:    5,                     // the platform's spam limit per IP
			RateBurst:        10,                    // a quick paste passes, a flood does not
			MaxTextBytes:     500,                   // ~166 CJK characters; paid on every node for 30 days
			MaxFrameBytes:    4096,                  // the longest text, fully escaped, plus envelope
			PresenceInterval: time.Second,           // live-looking counts at bounded cost
			PresenceFrames:   2000,                  // a few % of what a node writes for chat
			SendBuffer:       256 << 10,             // ~1,000 messages: seconds of the busiest room
			DrainTimeout:     10 * time.Second,      // a slow phone keeps up, a dead one is cut
			BatchWindow:      50 * time.Millisecond, // faster than anyone reads
			PingInterval:     20 * time.Second,      // under common proxy idle timeouts
			NATSClientListen: "",                    // off: the node itself talks to NATS in-process
			NATSUser:         "",                    // required only with nats_client_listen
			NATSPassword:     "",                    // required only with nats_client_listen
		},
		HLS: HLS{
			CacheMemory:    256 << 20,   // minutes of the live renditions players ask for
			CacheDisk:      10 << 30,    // hours of segments, kept across restarts
			PlaylistMaxAge: time.Second, // under half a 2-4s segment
			MaxObject:      64 << 20,    // far above any sane segment
			ShieldRegion:   "",          // each region fetches on its own
			// A flood of one missing key costs a GET per 3s; a new
			// object is seen at most that late.
			OriginNotFoundTTL: 3 * time.Second,
			OriginMaxRequests: 64, // far above what one fill per key needs
		},
		Ingest: Ingest{
			StreamKeys:       nil,              // no streams until ops give them keys
			WriteThroughWait: 2 * time.Second,  // healthy origins answer well within it
			SpoolMax:         1 << 30,          // over an hour of a typical stream
			MinUploadRate:    16 << 10,         // far below any live rendition, far above a trickle
			UploadRateWindow: 10 * time.Second, // rides out a Wi-Fi hiccup
			MaxPlaylist:      256 << 10,        // hours of an event playlist
		},
		Log: Log{
			Level:  "info", // debug is for diagnosis only
			Format: "json", // what log shippers parse
		},
	}
}

// fallbackNodeName is used when the host name is unavailable or has nothing
// usable in it; Validate still passes, and ops see the name in the logs.
const fallbackNodeName = "relaymesh"

// defaultNodeName derives a node name from the host name. hostname is a
// parameter so tests can feed it odd host names.
func defaultNodeName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil {
		return fallbackNodeName
	}
	if n := sanitizeNodeName(h); n != "" {
		return n
	}
	return fallbackNodeName
}

// sanitizeNodeName turns a host name into a DNS label: lowercase, every
// character outside [a-z0-9-] (dots included) replaced by "-", runs of "-"
// collapsed, no leading or trailing "-", at most 63 characters. It returns ""
// when nothing usable is left.
func sanitizeNodeName(h string) string {
	b := make([]byte, 0, len(h))
	for _, r := range strings.ToLower(h) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case len(b) > 0 && b[len(b)-1] != '-':
			b = append(b, '-')
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return strings.TrimRight(string(b), "-")
}
