package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relaymesh/relaymesh/regions"
)

// Validate checks the semantics of a configuration and reports every problem
// at once (as Problems), so a broken config is fixed in one round rather than
// one error per restart. It does no I/O: whether the TLS files exist or the
// origin answers is checked at startup, where the error can say more.
func (c *Config) Validate() error {
	return c.validate().err()
}

// validate collects the problems of every section, sorted.
func (c *Config) validate() Problems {
	var ps Problems
	c.Node.validate(&ps)
	c.HTTP.validate(&ps)
	c.Mesh.validate(&ps)
	c.TLS.validate(&ps)
	c.Origin.validate(&ps)
	c.Chat.validate(&ps, c.HTTP.Listen)
	c.HLS.validate(&ps)
	c.Ingest.validate(&ps, c.HLS.MaxObject)
	c.Log.validate(&ps)
	ps.sort()
	return ps
}

func (n *Node) validate(ps *Problems) {
	if !nodeNamePattern.MatchString(n.Name) {
		ps.add("node.name", "must be a DNS label: 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; got %q", n.Name)
	}
	switch _, ok := regions.Lookup(n.Region); {
	case n.Region == "":
		ps.add("node.region", "required; one of %s", strings.Join(regions.Names(), ", "))
	case !ok:
		hint := ""
		if _, ok := regions.Lookup(strings.ToLower(n.Region)); ok {
			hint = fmt.Sprintf(" (names are lowercase: %q)", strings.ToLower(n.Region))
		} else if r, ok := regions.ByCode(n.Region); ok {
			hint = fmt.Sprintf(" (%q is the cloud code of %q)", n.Region, r.Name)
		}
		ps.add("node.region", "must be one of %s; got %q%s", strings.Join(regions.Names(), ", "), n.Region, hint)
	}
	if n.DataDir == "" {
		ps.add("node.data_dir", "must not be empty")
	}
}

func (h *HTTP) validate(ps *Problems) {
	if msg := checkAddr(h.Listen, addrRule{listen: true}); msg != "" {
		ps.add("http.listen", "%s", msg)
	}
	if h.Advertise != "" {
		if msg := checkAddr(h.Advertise, addrRule{}); msg != "" {
			ps.add("http.advertise", "%s", msg)
		}
	}
	positive(ps, "http.shutdown_timeout", h.ShutdownTimeout)
	positive(ps, "http.read_header_timeout", h.ReadHeaderTimeout)
	positive(ps, "http.read_timeout", h.ReadTimeout)
	positive(ps, "http.write_timeout", h.WriteTimeout)
	positive(ps, "http.idle_timeout", h.IdleTimeout)
	if h.ReadHeaderTimeout > 0 && h.ReadTimeout > 0 && h.ReadHeaderTimeout > h.ReadTimeout {
		ps.add("http.read_header_timeout", "must not exceed http.read_timeout (%s); got %q", h.ReadTimeout, h.ReadHeaderTimeout)
	}
	if h.MaxHeaderBytes < 1<<10 || h.MaxHeaderBytes > 1<<20 {
		ps.add("http.max_header_bytes", "must be between 1KiB and 1MiB; got %q", h.MaxHeaderBytes.String())
	}
	if h.MaxConnsPerIP < 0 {
		ps.add("http.max_conns_per_ip", "must not be negative (0 turns the cap off); got \"%d\"", h.MaxConnsPerIP)
	}
	if h.MaxConns < 0 {
		ps.add("http.max_conns", "must not be negative (0 derives it from the file descriptor limit); got \"%d\"", h.MaxConns)
	}
	if h.RetryAfter < time.Second || h.RetryAfter > time.Hour || h.RetryAfter%time.Second != 0 {
		ps.add("http.retry_after", "must be whole seconds between 1s and 1h; got %q", h.RetryAfter)
	}
}

func (m *Mesh) validate(ps *Problems) {
	listenMsg := checkAddr(m.Listen, addrRule{listen: true})
	if listenMsg != "" {
		ps.add("mesh.listen", "%s", listenMsg)
	}
	switch {
	case m.Advertise != "":
		if msg := checkAddr(m.Advertise, addrRule{}); msg != "" {
			ps.add("mesh.advertise", "%s", msg)
		}
	case listenMsg == "":
		if host, _, _ := net.SplitHostPort(m.Listen); unspecifiedHost(host) {
			ps.add("mesh.advertise", "required when mesh.listen binds every interface (%q): peers need an address they can dial; set it here or in RELAYMESH_MESH_ADVERTISE", m.Listen)
		}
	}
	seen := make(map[string]int, len(m.Seeds))
	for i, s := range m.Seeds {
		p := indexPath("mesh.seeds", i)
		if msg := checkAddr(s, addrRule{}); msg != "" {
			ps.add(p, "%s", msg)
		} else if first, dup := seen[s]; dup {
			ps.add(p, "duplicate of mesh.seeds[%d]; got %q", first, s)
		} else {
			seen[s] = i
		}
	}

	positive(ps, "mesh.join_retry_min", m.JoinRetryMin)
	positive(ps, "mesh.join_retry_max", m.JoinRetryMax)
	if m.JoinRetryMin > 0 && m.JoinRetryMax > 0 && m.JoinRetryMin > m.JoinRetryMax {
		ps.add("mesh.join_retry_min", "must not exceed mesh.join_retry_max (%s); got %q", m.JoinRetryMax, m.JoinRetryMin)
	}
	positive(ps, "mesh.leave_timeout", m.LeaveTimeout)
	positive(ps, "mesh.probe_interval", m.ProbeInterval)
	positive(ps, "mesh.probe_timeout", m.ProbeTimeout)
	if m.ProbeTimeout > 0 && m.ProbeInterval > 0 && m.ProbeTimeout >= m.ProbeInterval {
		ps.add("mesh.probe_timeout", "must be less than mesh.probe_interval (%s), or probes overlap; got %q", m.ProbeInterval, m.ProbeTimeout)
	}
	if worst := worstRTT(); m.WANEmulation && m.ProbeTimeout > 0 && m.ProbeTimeout <= worst {
		ps.add("mesh.probe_timeout", "must exceed the worst emulated inter-region RTT (%s) with wan_emulation on, or healthy remote nodes are suspected on every probe; got %q", worst, m.ProbeTimeout)
	}
	if m.SuspicionMult < 1 {
		ps.add("mesh.suspicion_mult", "must be at least 1; got \"%d\"", m.SuspicionMult)
	}
	positive(ps, "mesh.gossip_interval", m.GossipInterval)
	positive(ps, "mesh.push_pull_interval", m.PushPullInterval)
	positive(ps, "mesh.stream_timeout", m.StreamTimeout)
	positive(ps, "mesh.dead_node_reclaim", m.DeadNodeReclaim)
}

func (t *TLS) validate(ps *Problems) {
	files := []struct{ path, value string }{
		{"tls.ca_file", t.CAFile},
		{"tls.cert_file", t.CertFile},
		{"tls.key_file", t.KeyFile},
	}
	var set []string
	for _, f := range files {
		if f.value != "" {
			set = append(set, f.path)
		}
	}
	if len(set) == 0 || len(set) == len(files) {
		return
	}
	for _, f := range files {
		if f.value == "" {
			ps.add(f.path, "required when %s set: give all three TLS files or none", describeSet(set))
		}
	}
}

func (o *Origin) validate(ps *Problems) {
	if o.Endpoint == "" {
		ps.add("origin.endpoint", "required: host[:port] of the S3-compatible origin")
	} else if msg := checkEndpoint(o.Endpoint); msg != "" {
		ps.add("origin.endpoint", "%s", msg)
	}
	if o.Bucket == "" {
		ps.add("origin.bucket", "required")
	} else if msg := checkBucket(o.Bucket); msg != "" {
		ps.add("origin.bucket", "%s", msg)
	}
	if o.Region == "" {
		ps.add("origin.region", "must not be empty (requests are signed for a region; MinIO uses \"us-east-1\")")
	}
	// Never quote the secret: this message may end up in a log.
	switch {
	case o.AccessKey != "" && o.SecretKey == "":
		ps.add("origin.secret_key", "required when origin.access_key is set: give both or neither")
	case o.AccessKey == "" && o.SecretKey != "":
		ps.add("origin.access_key", "required when origin.secret_key is set: give both or neither")
	}
	positive(ps, "origin.timeout", o.Timeout)
}

// Limits of the chat section, in one place for the checks and their
// messages.
const (
	maxHistoryOnJoin    = 1000
	maxRecoveryWindow   = 100000
	minRetention        = time.Minute
	maxTextBytesLimit   = 16384
	frameOverheadBytes  = 256 // JSON envelope and nonce around the text
	maxFrameBytesLimit  = 1 << 20
	minPresenceInterval = 100 * time.Millisecond
	maxPresenceFrames   = 1_000_000
	minSendBuffer       = 4 << 10
	minRecoveryMemory   = 1 << 20
	maxRecoveryMemory   = 1 << 40
	maxSendBuffer       = 64 << 20
	minDrainTimeout     = time.Second
	maxDrainTimeout     = 5 * time.Minute
	maxBatchWindow      = time.Second
	minPingInterval     = time.Second
	maxPingInterval     = 10 * time.Minute
)

// validate checks the chat section; httpListen is the HTTP server's bind
// address, which the NATS client port must not collide with.
func (ch *Chat) validate(ps *Problems, httpListen string) {
	intRange(ps, "chat.history_on_join", ch.HistoryOnJoin, 0, maxHistoryOnJoin)
	windowOK := intRange(ps, "chat.recovery_window", ch.RecoveryWindow, 1, maxRecoveryWindow)
	if windowOK && ch.HistoryOnJoin > ch.RecoveryWindow && ch.HistoryOnJoin <= maxHistoryOnJoin {
		ps.add("chat.history_on_join", "must not exceed chat.recovery_window (%d): join history is served from the recovery window; got \"%d\"", ch.RecoveryWindow, ch.HistoryOnJoin)
	}
	if ch.Retention < minRetention {
		ps.add("chat.retention", "must be at least %s; got %q", minRetention, ch.Retention)
	}
	if !(ch.RatePerSecond > 0) || math.IsInf(ch.RatePerSecond, 0) {
		ps.add("chat.rate_per_second", "must be a positive number; got \"%g\"", ch.RatePerSecond)
	}
	if ch.RateBurst < 1 {
		ps.add("chat.rate_burst", "must be at least 1; got \"%d\"", ch.RateBurst)
	}
	textOK := intRange(ps, "chat.max_text_bytes", ch.MaxTextBytes, 1, maxTextBytesLimit)
	if intRange(ps, "chat.max_frame_bytes", ch.MaxFrameBytes, 1, maxFrameBytesLimit) && textOK &&
		ch.MaxFrameBytes <= ch.MaxTextBytes+frameOverheadBytes {
		ps.add("chat.max_frame_bytes", "must exceed chat.max_text_bytes (%d) + %d for the JSON envelope and nonce; got \"%d\"", ch.MaxTextBytes, frameOverheadBytes, ch.MaxFrameBytes)
	}
	if ch.PresenceInterval < minPresenceInterval {
		ps.add("chat.presence_interval", "must be at least %s; got %q", minPresenceInterval, ch.PresenceInterval)
	}
	intRange(ps, "chat.presence_frames", ch.PresenceFrames, 1, maxPresenceFrames)
	if ch.RecoveryMemory < minRecoveryMemory || ch.RecoveryMemory > maxRecoveryMemory {
		ps.add("chat.recovery_memory", "must be in %s-%s; got %q", ByteSize(minRecoveryMemory), ByteSize(maxRecoveryMemory), ch.RecoveryMemory)
	}
	if ch.SendBuffer < minSendBuffer || ch.SendBuffer > maxSendBuffer {
		ps.add("chat.send_buffer", "must be in %s-%s; got %q", ByteSize(minSendBuffer), ByteSize(maxSendBuffer), ch.SendBuffer)
	}
	if ch.DrainTimeout < minDrainTimeout || ch.DrainTimeout > maxDrainTimeout {
		ps.add("chat.drain_timeout", "must be in %s-%s; got %q", minDrainTimeout, maxDrainTimeout, ch.DrainTimeout)
	}
	if ch.BatchWindow < 0 || ch.BatchWindow > maxBatchWindow {
		ps.add("chat.batch_window", "must be in 0s-%s; got %q", maxBatchWindow, ch.BatchWindow)
	}
	if ch.PingInterval < minPingInterval || ch.PingInterval > maxPingInterval {
		ps.add("chat.ping_interval", "must be in %s-%s; got %q", minPingInterval, maxPingInterval, ch.PingInterval)
	}

	if ch.NATSClientListen != "" {
		if msg := checkAddr(ch.NATSClientListen, addrRule{listen: true}); msg != "" {
			ps.add("chat.nats_client_listen", "%s", msg)
		} else if samePort(ch.NATSClientListen, httpListen) {
			ps.add("chat.nats_client_listen", "must not use the port of http.listen (%q); got %q", httpListen, ch.NATSClientListen)
		}
	}
	// Never quote the password: this message may end up in a log.
	switch {
	case ch.NATSClientListen != "" && ch.NATSUser == "" && ch.NATSPassword == "":
		const msg = "required when chat.nats_client_listen is set: the client port is never open without credentials"
		ps.add("chat.nats_user", msg)
		ps.add("chat.nats_password", msg)
	case ch.NATSUser != "" && ch.NATSPassword == "":
		ps.add("chat.nats_password", "required when chat.nats_user is set: give both or neither")
	case ch.NATSUser == "" && ch.NATSPassword != "":
		ps.add("chat.nats_user", "required when chat.nats_password is set: give both or neither")
	}
}

// intRange reports an integer outside [lo, hi] and returns whether it was
// inside.
func intRange(ps *Problems, path string, v, lo, hi int) bool {
	if v < lo || v > hi {
		ps.add(path, "must be in %d-%d; got \"%d\"", lo, hi, v)
		return false
	}
	return true
}

// samePort reports whether two valid TCP bind addresses would collide: the
// same non-zero port on hosts that overlap (equal, or either binds every
// interface). Port 0 picks a free port, so it never collides.
func samePort(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	return ha == hb || unspecifiedHost(ha) || unspecifiedHost(hb)
}

func (l *Log) validate(ps *Problems) {
	if msg := checkOneOf(l.Level, "debug", "info", "warn", "error"); msg != "" {
		ps.add("log.level", "%s", msg)
	}
	if msg := checkOneOf(l.Format, "json", "text"); msg != "" {
		ps.add("log.format", "%s", msg)
	}
}

// positive reports a duration that is zero or negative: every timer here
// would spin or never fire.
func positive(ps *Problems, path string, d time.Duration) {
	if d <= 0 {
		ps.add(path, "must be positive; got %q", d)
	}
}

// describeSet renders "tls.ca_file is" or "tls.ca_file and tls.cert_file are".
func describeSet(paths []string) string {
	if len(paths) == 1 {
		return paths[0] + " is"
	}
	return strings.Join(paths, " and ") + " are"
}

// worstRTT is the largest measured round trip between two regions: the
// longest a probe can legitimately wait for its ack.
func worstRTT() time.Duration {
	var worst time.Duration
	for _, a := range regions.Names() {
		for _, b := range regions.Names() {
			if rtt, err := regions.RTT(a, b); err == nil && rtt > worst {
				worst = rtt
			}
		}
	}
	return worst
}

func (h *HLS) validate(ps *Problems) {
	if h.CacheMemory < 1<<20 {
		ps.add("hls.cache_memory", "must be at least 1MiB; got %q", h.CacheMemory.String())
	}
	if h.CacheDisk < 0 {
		ps.add("hls.cache_disk", "must not be negative; got %q", h.CacheDisk.String())
	}
	if h.PlaylistMaxAge < 100*time.Millisecond || h.PlaylistMaxAge > time.Minute {
		ps.add("hls.playlist_max_age", "must be between 100ms and 1m; got %q", h.PlaylistMaxAge)
	}
	if _, ok := regions.Lookup(h.ShieldRegion); h.ShieldRegion != "" && !ok {
		ps.add("hls.shield_region", "must be empty or one of %s; got %q", strings.Join(regions.Names(), ", "), h.ShieldRegion)
	}
	if h.MaxObject < 1<<10 || h.MaxObject > h.CacheMemory {
		ps.add("hls.max_object", "must be at least 1KiB and at most hls.cache_memory (%s); got %q", h.CacheMemory, h.MaxObject.String())
	}
	if h.OriginNotFoundTTL < 0 || h.OriginNotFoundTTL > time.Minute {
		ps.add("hls.origin_not_found_ttl", "must be between 0 (off) and 1m; got %q", h.OriginNotFoundTTL)
	}
	if h.OriginMaxRequests < 1 || h.OriginMaxRequests > 10000 {
		ps.add("hls.origin_max_requests", "must be between 1 and 10000; got %d", h.OriginMaxRequests)
	}
}

var streamName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (in *Ingest) validate(ps *Problems, maxObject ByteSize) {
	for _, stream := range slices.Sorted(maps.Keys(in.StreamKeys)) {
		if !streamName.MatchString(stream) {
			ps.add("ingest.stream_keys."+stream, "stream names are 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")
		}
		if k := in.StreamKeys[stream]; len(k) < 16 {
			ps.add("ingest.stream_keys."+stream, "key is %d characters; use at least 16 (e.g. openssl rand -hex 16)", len(k))
		}
	}
	if in.WriteThroughWait < 100*time.Millisecond || in.WriteThroughWait > time.Minute {
		ps.add("ingest.write_through_wait", "must be between 100ms and 1m; got %q", in.WriteThroughWait)
	}
	if in.SpoolMax < 1<<20 {
		ps.add("ingest.spool_max", "must be at least 1MiB; got %q", in.SpoolMax.String())
	}
	if in.MinUploadRate < 1 {
		ps.add("ingest.min_upload_rate", "must be positive (bytes per second); got %q", in.MinUploadRate.String())
	}
	if in.UploadRateWindow < 100*time.Millisecond || in.UploadRateWindow > 5*time.Minute {
		ps.add("ingest.upload_rate_window", "must be between 100ms and 5m; got %q", in.UploadRateWindow)
	}
	if in.MaxPlaylist < 1<<10 || in.MaxPlaylist > maxObject {
		ps.add("ingest.max_playlist", "must be at least 1KiB and at most hls.max_object (%s); got %q", maxObject, in.MaxPlaylist.String())
	}
}
