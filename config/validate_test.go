package config

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   Problems // nil: valid
	}{
		{"valid", func(c *Config) {}, nil},

		// node
		{"name with capitals", func(c *Config) { c.Node.Name = "Edge_1" }, Problems{
			{"node.name", `must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got "Edge_1"`},
		}},
		{"name ends in hyphen", func(c *Config) { c.Node.Name = "edge-" }, Problems{
			{"node.name", `must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got "edge-"`},
		}},
		{"name of 63 characters", func(c *Config) { c.Node.Name = strings.Repeat("a", 63) }, nil},
		{"name of 64 characters", func(c *Config) { c.Node.Name = strings.Repeat("a", 64) }, Problems{
			{"node.name", `must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got "` + strings.Repeat("a", 64) + `"`},
		}},
		{"empty name", func(c *Config) { c.Node.Name = "" }, Problems{
			{"node.name", `must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got ""`},
		}},
		{"missing region", func(c *Config) { c.Node.Region = "" }, Problems{
			{"node.region", "required; one of seoul, tokyo, virginia, frankfurt"},
		}},
		{"unknown region", func(c *Config) { c.Node.Region = "mars" }, Problems{
			{"node.region", `must be one of seoul, tokyo, virginia, frankfurt; got "mars"`},
		}},
		{"capitalised region", func(c *Config) { c.Node.Region = "Seoul" }, Problems{
			{"node.region", `must be one of seoul, tokyo, virginia, frankfurt; got "Seoul" (names are lowercase: "seoul")`},
		}},
		{"region code", func(c *Config) { c.Node.Region = "eu-central-1" }, Problems{
			{"node.region", `must be one of seoul, tokyo, virginia, frankfurt; got "eu-central-1" ("eu-central-1" is the cloud code of "frankfurt")`},
		}},
		{"empty data dir", func(c *Config) { c.Node.DataDir = "" }, Problems{
			{"node.data_dir", "must not be empty"},
		}},

		// http
		{"listen on port 0", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }, nil},
		{"listen without port", func(c *Config) { c.HTTP.Listen = "8080" }, Problems{
			{"http.listen", `must be host:port (missing port in address); got "8080"`},
		}},
		{"listen port out of range", func(c *Config) { c.HTTP.Listen = ":65536" }, Problems{
			{"http.listen", `port must be a number in 0-65535; got ":65536"`},
		}},
		{"listen service name", func(c *Config) { c.HTTP.Listen = ":http" }, Problems{
			{"http.listen", `port must be a number in 0-65535; got ":http"`},
		}},
		{"advertise IPv6", func(c *Config) { c.HTTP.Advertise = "[2001:db8::1]:443" }, nil},
		{"http limits off or derived", func(c *Config) { c.HTTP.MaxConnsPerIP, c.HTTP.MaxConns = 0, 0 }, nil},
		{"http limits out of range", func(c *Config) {
			c.HTTP.ReadTimeout = 0
			c.HTTP.IdleTimeout = -time.Second
			c.HTTP.MaxHeaderBytes = 100
			c.HTTP.MaxConnsPerIP = -1
			c.HTTP.MaxConns = -1
			c.HTTP.RetryAfter = 1500 * time.Millisecond
		}, Problems{
			{"http.read_timeout", `must be positive; got "0s"`},
			{"http.idle_timeout", `must be positive; got "-1s"`},
			{"http.max_header_bytes", `must be between 1KiB and 1MiB; got "100"`},
			{"http.max_conns_per_ip", `must not be negative (0 turns the cap off); got "-1"`},
			{"http.max_conns", `must not be negative (0 derives it from the file descriptor limit); got "-1"`},
			{"http.retry_after", `must be whole seconds between 1s and 1h; got "1.5s"`},
		}},
		{"header timeout over read timeout", func(c *Config) { c.HTTP.ReadHeaderTimeout = time.Minute }, Problems{
			{"http.read_header_timeout", `must not exceed http.read_timeout (30s); got "1m0s"`},
		}},
		{"ingest limits out of range", func(c *Config) {
			c.Ingest.MinUploadRate = 0
			c.Ingest.UploadRateWindow = time.Hour
			c.Ingest.MaxPlaylist = c.HLS.MaxObject + 1
		}, Problems{
			{"ingest.min_upload_rate", `must be positive (bytes per second); got "0"`},
			{"ingest.upload_rate_window", `must be between 100ms and 5m; got "1h0m0s"`},
			{"ingest.max_playlist", `must be at least 1KiB and at most hls.max_object (64MiB); got "67108865"`},
		}},
		{"advertise DNS name", func(c *Config) { c.HTTP.Advertise = "edge.example.com:443" }, nil},
		{"advertise port 0", func(c *Config) { c.HTTP.Advertise = "edge.example.com:0" }, Problems{
			{"http.advertise", `port must be a number in 1-65535; got "edge.example.com:0"`},
		}},
		{"advertise unspecified", func(c *Config) { c.HTTP.Advertise = "0.0.0.0:8080" }, Problems{
			{"http.advertise", `host must be an address others can dial, not empty, 0.0.0.0 or ::; got "0.0.0.0:8080"`},
		}},
		{"advertise bad host", func(c *Config) { c.HTTP.Advertise = "edge example:8080" }, Problems{
			{"http.advertise", `host must be an IP address or a DNS name; got "edge example:8080"`},
		}},
		{"zero shutdown timeout", func(c *Config) { c.HTTP.ShutdownTimeout = 0 }, Problems{
			{"http.shutdown_timeout", `must be positive; got "0s"`},
		}},

		// mesh
		{"advertise needed for unspecified listen", func(c *Config) { c.Mesh.Listen = "[::]:7946"; c.Mesh.Advertise = "" }, Problems{
			{"mesh.advertise", `required when mesh.listen binds every interface ("[::]:7946"): peers need an address they can dial; set it here or in RELAYMESH_MESH_ADVERTISE`},
		}},
		{"advertise not needed for specific listen", func(c *Config) { c.Mesh.Listen = "127.0.0.1:0"; c.Mesh.Advertise = "" }, nil},
		{"bad listen hides advertise requirement", func(c *Config) { c.Mesh.Listen = "nope"; c.Mesh.Advertise = "" }, Problems{
			{"mesh.listen", `must be host:port (missing port in address); got "nope"`},
		}},
		{"advertise unspecified IPv6", func(c *Config) { c.Mesh.Advertise = "[::]:7946" }, Problems{
			{"mesh.advertise", `host must be an address others can dial, not empty, 0.0.0.0 or ::; got "[::]:7946"`},
		}},
		{"seeds", func(c *Config) { c.Mesh.Seeds = []string{"tokyo.example.com:7946", "10.0.0.2:7946"} }, nil},
		{"bad seeds", func(c *Config) {
			c.Mesh.Seeds = []string{"tokyo.example.com", "a:1", ":7946", "a:1", "b:0"}
		}, Problems{
			{"mesh.seeds[0]", `must be host:port (missing port in address); got "tokyo.example.com"`},
			{"mesh.seeds[2]", `host must be an address others can dial, not empty, 0.0.0.0 or ::; got ":7946"`},
			{"mesh.seeds[3]", `duplicate of mesh.seeds[1]; got "a:1"`},
			{"mesh.seeds[4]", `port must be a number in 1-65535; got "b:0"`},
		}},
		{"join retry inverted", func(c *Config) { c.Mesh.JoinRetryMin = time.Minute }, Problems{
			{"mesh.join_retry_min", `must not exceed mesh.join_retry_max (30s); got "1m0s"`},
		}},
		{"probe timeout not below interval", func(c *Config) { c.Mesh.ProbeTimeout = time.Second }, Problems{
			{"mesh.probe_timeout", `must be less than mesh.probe_interval (1s), or probes overlap; got "1s"`},
		}},
		{"short probe timeout without WAN emulation", func(c *Config) { c.Mesh.ProbeTimeout = 50 * time.Millisecond }, nil},
		{"short probe timeout with WAN emulation", func(c *Config) {
			c.Mesh.ProbeTimeout = 200 * time.Millisecond
			c.Mesh.WANEmulation = true
		}, Problems{
			{"mesh.probe_timeout", `must exceed the worst emulated inter-region RTT (231.3ms) with wan_emulation on, or healthy remote nodes are suspected on every probe; got "200ms"`},
		}},
		{"suspicion mult zero", func(c *Config) { c.Mesh.SuspicionMult = 0 }, Problems{
			{"mesh.suspicion_mult", `must be at least 1; got "0"`},
		}},
		{"every duration zero or negative", func(c *Config) {
			c.Mesh.JoinRetryMin, c.Mesh.JoinRetryMax, c.Mesh.LeaveTimeout = 0, -time.Second, 0
			c.Mesh.ProbeInterval, c.Mesh.ProbeTimeout, c.Mesh.GossipInterval = 0, 0, 0
			c.Mesh.PushPullInterval, c.Mesh.StreamTimeout, c.Mesh.DeadNodeReclaim = 0, 0, 0
			c.Origin.Timeout = 0
		}, Problems{
			{"mesh.join_retry_min", `must be positive; got "0s"`},
			{"mesh.join_retry_max", `must be positive; got "-1s"`},
			{"mesh.leave_timeout", `must be positive; got "0s"`},
			{"mesh.probe_interval", `must be positive; got "0s"`},
			{"mesh.probe_timeout", `must be positive; got "0s"`},
			{"mesh.gossip_interval", `must be positive; got "0s"`},
			{"mesh.push_pull_interval", `must be positive; got "0s"`},
			{"mesh.stream_timeout", `must be positive; got "0s"`},
			{"mesh.dead_node_reclaim", `must be positive; got "0s"`},
			{"origin.timeout", `must be positive; got "0s"`},
		}},

		// tls
		{"all TLS files", func(c *Config) { c.TLS = TLS{CAFile: "ca", CertFile: "cert", KeyFile: "key"} }, nil},
		{"only the CA", func(c *Config) { c.TLS.CAFile = "ca" }, Problems{
			{"tls.cert_file", "required when tls.ca_file is set: give all three TLS files or none"},
			{"tls.key_file", "required when tls.ca_file is set: give all three TLS files or none"},
		}},
		{"no key", func(c *Config) { c.TLS = TLS{CAFile: "ca", CertFile: "cert"} }, Problems{
			{"tls.key_file", "required when tls.ca_file and tls.cert_file are set: give all three TLS files or none"},
		}},

		// origin
		{"missing endpoint and bucket", func(c *Config) { c.Origin.Endpoint, c.Origin.Bucket = "", "" }, Problems{
			{"origin.endpoint", "required: host[:port] of the S3-compatible origin"},
			{"origin.bucket", "required"},
		}},
		{"endpoint with port", func(c *Config) { c.Origin.Endpoint = "minio:9000" }, nil},
		{"endpoint IP", func(c *Config) { c.Origin.Endpoint = "127.0.0.1:9000" }, nil},
		{"endpoint with scheme", func(c *Config) { c.Origin.Endpoint = "https://s3.amazonaws.com" }, Problems{
			{"origin.endpoint", `must be host[:port] without a scheme (use_tls picks https or http); got "https://s3.amazonaws.com"`},
		}},
		{"endpoint with path", func(c *Config) { c.Origin.Endpoint = "s3.amazonaws.com/bucket" }, Problems{
			{"origin.endpoint", `must be host[:port] without a path (the bucket has its own field); got "s3.amazonaws.com/bucket"`},
		}},
		{"endpoint bad port", func(c *Config) { c.Origin.Endpoint = "minio:0" }, Problems{
			{"origin.endpoint", `port must be a number in 1-65535; got "minio:0"`},
		}},
		{"endpoint bad host", func(c *Config) { c.Origin.Endpoint = "s3 amazon" }, Problems{
			{"origin.endpoint", `must be host[:port]; got "s3 amazon"`},
		}},
		{"bucket too short", func(c *Config) { c.Origin.Bucket = "ab" }, Problems{
			{"origin.bucket", `must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit; got "ab" (2 characters)`},
		}},
		{"bucket uppercase", func(c *Config) { c.Origin.Bucket = "My_Bucket" }, Problems{
			{"origin.bucket", `must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit; got "My_Bucket"`},
		}},
		{"bucket ends in hyphen", func(c *Config) { c.Origin.Bucket = "bucket-" }, Problems{
			{"origin.bucket", `must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit; got "bucket-"`},
		}},
		{"bucket double dot", func(c *Config) { c.Origin.Bucket = "a..b" }, Problems{
			{"origin.bucket", `must not contain "..", ".-" or "-."; got "a..b"`},
		}},
		{"bucket IP", func(c *Config) { c.Origin.Bucket = "192.168.5.4" }, Problems{
			{"origin.bucket", `must not be an IP address; got "192.168.5.4"`},
		}},
		{"bucket with dots", func(c *Config) { c.Origin.Bucket = "media.example.com" }, nil},
		{"empty origin region", func(c *Config) { c.Origin.Region = "" }, Problems{
			{"origin.region", `must not be empty (requests are signed for a region; MinIO uses "us-east-1")`},
		}},
		{"both keys", func(c *Config) { c.Origin.AccessKey, c.Origin.SecretKey = "AKIA", "s3cr3t" }, nil},
		{"access key only", func(c *Config) { c.Origin.AccessKey = "AKIA" }, Problems{
			{"origin.secret_key", "required when origin.access_key is set: give both or neither"},
		}},
		{"secret key only, never quoted", func(c *Config) { c.Origin.SecretKey = "s3cr3t" }, Problems{
			{"origin.access_key", "required when origin.secret_key is set: give both or neither"},
		}},

		// chat
		{"chat limits at their bounds", func(c *Config) {
			c.Chat.HistoryOnJoin, c.Chat.RecoveryWindow = 1000, 100000
			c.Chat.MaxTextBytes, c.Chat.MaxFrameBytes = 16384, 1<<20
			c.Chat.Retention, c.Chat.PresenceInterval = time.Minute, 100*time.Millisecond
			c.Chat.RatePerSecond, c.Chat.RateBurst, c.Chat.SendBuffer = 0.2, 1, 64<<20
			c.Chat.DrainTimeout, c.Chat.BatchWindow, c.Chat.PingInterval = 5*time.Minute, time.Second, 10*time.Minute
		}, nil},
		{"chat limits at their other bounds", func(c *Config) {
			c.Chat.HistoryOnJoin, c.Chat.RecoveryWindow, c.Chat.SendBuffer = 0, 1, 4<<10
			c.Chat.DrainTimeout, c.Chat.BatchWindow, c.Chat.PingInterval = time.Second, 0, time.Second
			c.Chat.MaxTextBytes, c.Chat.MaxFrameBytes = 1, 258
		}, nil},
		{"chat integers out of range", func(c *Config) {
			c.Chat.HistoryOnJoin, c.Chat.RecoveryWindow = -1, 0
			c.Chat.MaxTextBytes, c.Chat.MaxFrameBytes = 16385, 1<<20+1
			c.Chat.RateBurst, c.Chat.SendBuffer, c.Chat.PresenceFrames = 0, 64<<20+1, 0
			c.Chat.DrainTimeout, c.Chat.BatchWindow, c.Chat.PingInterval = 0, -time.Millisecond, 11*time.Minute
		}, Problems{
			{"chat.history_on_join", `must be in 0-1000; got "-1"`},
			{"chat.recovery_window", `must be in 1-100000; got "0"`},
			{"chat.rate_burst", `must be at least 1; got "0"`},
			{"chat.max_text_bytes", `must be in 1-16384; got "16385"`},
			{"chat.max_frame_bytes", `must be in 1-1048576; got "1048577"`},
			{"chat.presence_frames", `must be in 1-1000000; got "0"`},
			{"chat.send_buffer", `must be in 4KiB-64MiB; got "67108865"`},
			{"chat.drain_timeout", `must be in 1s-5m0s; got "0s"`},
			{"chat.batch_window", `must be in 0s-1s; got "-1ms"`},
			{"chat.ping_interval", `must be in 1s-10m0s; got "11m0s"`},
		}},
		{"history above the recovery window", func(c *Config) { c.Chat.HistoryOnJoin, c.Chat.RecoveryWindow = 100, 99 }, Problems{
			{"chat.history_on_join", `must not exceed chat.recovery_window (99): join history is served from the recovery window; got "100"`},
		}},
		{"history over its limit is reported once", func(c *Config) { c.Chat.HistoryOnJoin, c.Chat.RecoveryWindow = 5000, 10 }, Problems{
			{"chat.history_on_join", `must be in 0-1000; got "5000"`},
		}},
		{"short retention and presence interval", func(c *Config) {
			c.Chat.Retention, c.Chat.PresenceInterval = 59*time.Second, 0
		}, Problems{
			{"chat.retention", `must be at least 1m0s; got "59s"`},
			{"chat.presence_interval", `must be at least 100ms; got "0s"`},
		}},
		{"zero rate", func(c *Config) { c.Chat.RatePerSecond = 0 }, Problems{
			{"chat.rate_per_second", `must be a positive number; got "0"`},
		}},
		{"negative rate", func(c *Config) { c.Chat.RatePerSecond = -2.5 }, Problems{
			{"chat.rate_per_second", `must be a positive number; got "-2.5"`},
		}},
		{"NaN rate", func(c *Config) { c.Chat.RatePerSecond = math.NaN() }, Problems{
			{"chat.rate_per_second", `must be a positive number; got "NaN"`},
		}},
		{"infinite rate", func(c *Config) { c.Chat.RatePerSecond = math.Inf(1) }, Problems{
			{"chat.rate_per_second", `must be a positive number; got "+Inf"`},
		}},
		{"frame too small for the text", func(c *Config) { c.Chat.MaxTextBytes, c.Chat.MaxFrameBytes = 1000, 1256 }, Problems{
			{"chat.max_frame_bytes", `must exceed chat.max_text_bytes (1000) + 256 for the JSON envelope and nonce; got "1256"`},
		}},
		{"frame check skipped for a bad text limit", func(c *Config) { c.Chat.MaxTextBytes, c.Chat.MaxFrameBytes = 0, 100 }, Problems{
			{"chat.max_text_bytes", `must be in 1-16384; got "0"`},
		}},
		{"NATS port with credentials", func(c *Config) {
			c.Chat.NATSClientListen, c.Chat.NATSUser, c.Chat.NATSPassword = "10.0.0.1:4222", "bots", "pw"
		}, nil},
		{"NATS port 0 beside HTTP port 0", func(c *Config) {
			c.HTTP.Listen = "127.0.0.1:0"
			c.Chat.NATSClientListen, c.Chat.NATSUser, c.Chat.NATSPassword = "127.0.0.1:0", "bots", "pw"
		}, nil},
		{"NATS port without credentials", func(c *Config) { c.Chat.NATSClientListen = ":4222" }, Problems{
			{"chat.nats_user", "required when chat.nats_client_listen is set: the client port is never open without credentials"},
			{"chat.nats_password", "required when chat.nats_client_listen is set: the client port is never open without credentials"},
		}},
		{"NATS user without password, never quoted", func(c *Config) {
			c.Chat.NATSClientListen, c.Chat.NATSUser = ":4222", "bots"
		}, Problems{
			{"chat.nats_password", "required when chat.nats_user is set: give both or neither"},
		}},
		{"NATS password without user", func(c *Config) { c.Chat.NATSPassword = "s3cr3t" }, Problems{
			{"chat.nats_user", "required when chat.nats_password is set: give both or neither"},
		}},
		{"NATS credentials without a port", func(c *Config) { c.Chat.NATSUser, c.Chat.NATSPassword = "bots", "pw" }, nil},
		{"bad NATS port", func(c *Config) {
			c.Chat.NATSClientListen, c.Chat.NATSUser, c.Chat.NATSPassword = "4222", "bots", "pw"
		}, Problems{
			{"chat.nats_client_listen", `must be host:port (missing port in address); got "4222"`},
		}},
		{"NATS port is the HTTP port", func(c *Config) {
			c.Chat.NATSClientListen, c.Chat.NATSUser, c.Chat.NATSPassword = "10.0.0.1:8080", "bots", "pw"
		}, Problems{
			{"chat.nats_client_listen", `must not use the port of http.listen (":8080"); got "10.0.0.1:8080"`},
		}},
		{"NATS port is the HTTP port on another host", func(c *Config) {
			c.HTTP.Listen = "10.0.0.2:8080"
			c.Chat.NATSClientListen, c.Chat.NATSUser, c.Chat.NATSPassword = "10.0.0.1:8080", "bots", "pw"
		}, nil},

		// hls
		{"negative cache off", func(c *Config) { c.HLS.OriginNotFoundTTL = 0 }, nil},
		{"negative cache too long", func(c *Config) { c.HLS.OriginNotFoundTTL = time.Hour }, Problems{
			{"hls.origin_not_found_ttl", `must be between 0 (off) and 1m; got "1h0m0s"`},
		}},
		{"negative cache negative", func(c *Config) { c.HLS.OriginNotFoundTTL = -time.Second }, Problems{
			{"hls.origin_not_found_ttl", `must be between 0 (off) and 1m; got "-1s"`},
		}},
		{"no origin requests", func(c *Config) { c.HLS.OriginMaxRequests = 0 }, Problems{
			{"hls.origin_max_requests", "must be between 1 and 10000; got 0"},
		}},
		{"one origin request", func(c *Config) { c.HLS.OriginMaxRequests = 1 }, nil},

		// log
		{"log enums", func(c *Config) { c.Log = Log{Level: "verbose", Format: "xml"} }, Problems{
			{"log.level", `must be one of debug, info, warn, error; got "verbose"`},
			{"log.format", `must be one of json, text; got "xml"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("Validate():\n%v\nwant:\n%v", got, tt.want)
			}
		})
	}
}

// TestValidateReportsEverything checks that problems in different sections
// are all reported, in schema order.
func TestValidateReportsEverything(t *testing.T) {
	c := validConfig()
	c.Log.Level = "loud"
	c.Node.Region = "mars"
	c.Mesh.SuspicionMult = -1
	ps := problemsOf(t, c.Validate())
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	if want := []string{"node.region", "mesh.suspicion_mult", "log.level"}; !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}
