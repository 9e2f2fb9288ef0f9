package config

import (
	"net"
	"strings"
)

// MeshAdvertise returns the address peers dial to reach this node:
// Mesh.Advertise, or Mesh.Listen when its host is a specific address. It
// returns "" when neither gives one (Validate reports that). A port of 0
// means the port is known only after the mesh socket is bound.
func (c *Config) MeshAdvertise() string {
	if c.Mesh.Advertise != "" {
		return c.Mesh.Advertise
	}
	if host, _, err := net.SplitHostPort(c.Mesh.Listen); err == nil && !unspecifiedHost(host) {
		return c.Mesh.Listen
	}
	return ""
}

// HTTPAdvertise returns the address fans are sent to for this node:
// HTTP.Advertise, or the MeshAdvertise host with the HTTP.Listen port, so a
// node needs only one per-host address setting. It returns "" when no host is
// known. A port of 0 means the port is known only after the HTTP listener is
// bound.
func (c *Config) HTTPAdvertise() string {
	if c.HTTP.Advertise != "" {
		return c.HTTP.Advertise
	}
	host, _, err := net.SplitHostPort(c.MeshAdvertise())
	if err != nil {
		return ""
	}
	_, port, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// Redacted returns a copy of c safe to log or serve (e.g. on /v1/config):
// the origin secret key and the NATS password are blanked. The copy shares
// nothing with c, so changing it cannot change the running config.
func (c Config) Redacted() Config {
	c.Mesh.Seeds = append([]string(nil), c.Mesh.Seeds...)
	c.Origin.SecretKey = ""
	c.Chat.NATSPassword = ""
	if c.Ingest.StreamKeys != nil {
		keys := make(map[string]string, len(c.Ingest.StreamKeys))
		for stream := range c.Ingest.StreamKeys {
			keys[stream] = ""
		}
		c.Ingest.StreamKeys = keys
	}
	return c
}

// Warnings returns advice that does not make the config invalid but probably
// makes the cluster misbehave: `relaymesh config check` prints them and the
// node logs them at startup.
func (c *Config) Warnings() Problems {
	var ps Problems
	if worst := worstRTT(); !c.Mesh.WANEmulation && c.Mesh.ProbeTimeout > 0 && c.Mesh.ProbeTimeout <= worst {
		ps.add("mesh.probe_timeout", "%q does not exceed the worst inter-region RTT (%s): probes of healthy nodes in distant regions will time out; fine only for a single-region or local cluster", c.Mesh.ProbeTimeout, worst)
	}
	if c.HTTP.ReadTimeout > 0 && c.HTTP.ReadTimeout <= c.Origin.Timeout {
		ps.add("http.read_timeout", "%q does not exceed origin.timeout (%s): the read timeout also ends a request's context, so a player waiting on a slow origin fill is cut first", c.HTTP.ReadTimeout, c.Origin.Timeout)
	}
	if !c.Origin.UseTLS && !localHost(c.Origin.Endpoint) {
		ps.add("origin.use_tls", "is false for %q, a non-local origin: segments and credentials travel in clear text", c.Origin.Endpoint)
	}
	ps.sort()
	return ps
}

// localHost reports whether an endpoint is on this machine or a private
// network name, where plain http is a reasonable choice.
func localHost(endpoint string) bool {
	host := endpoint
	if h, _, err := net.SplitHostPort(endpoint); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate()
	}
	// localhost, or a bare name such as the compose service "minio".
	return host == "localhost" || !strings.Contains(host, ".")
}
