package config

import (
	"strings"
	"testing"
	"time"
)

func TestAdvertise(t *testing.T) {
	tests := []struct {
		name               string
		change             func(c *Config)
		wantMesh, wantHTTP string
	}{
		{"mesh advertise set", func(c *Config) {}, "10.0.0.1:7946", "10.0.0.1:8080"},
		{"both set", func(c *Config) { c.HTTP.Advertise = "edge.example.com:443" }, "10.0.0.1:7946", "edge.example.com:443"},
		{"specific listen", func(c *Config) { c.Mesh.Advertise, c.Mesh.Listen = "", "192.0.2.1:7000" }, "192.0.2.1:7000", "192.0.2.1:8080"},
		{"IPv6", func(c *Config) { c.Mesh.Advertise = "[2001:db8::1]:7946" }, "[2001:db8::1]:7946", "[2001:db8::1]:8080"},
		{"port 0 is left to the listener", func(c *Config) {
			c.Mesh.Advertise, c.Mesh.Listen, c.HTTP.Listen = "", "127.0.0.1:0", "127.0.0.1:0"
		}, "127.0.0.1:0", "127.0.0.1:0"},
		{"unknown", func(c *Config) { c.Mesh.Advertise = "" }, "", ""},
	}
	for _, tt := range tests {
		c := validConfig()
		tt.change(&c)
		if got := c.MeshAdvertise(); got != tt.wantMesh {
			t.Errorf("%s: MeshAdvertise() = %q, want %q", tt.name, got, tt.wantMesh)
		}
		if got := c.HTTPAdvertise(); got != tt.wantHTTP {
			t.Errorf("%s: HTTPAdvertise() = %q, want %q", tt.name, got, tt.wantHTTP)
		}
	}
}

func TestRedacted(t *testing.T) {
	c := validConfig()
	c.Origin.AccessKey, c.Origin.SecretKey = "AKIA", "s3cr3t"
	c.Chat.NATSUser, c.Chat.NATSPassword = "bots", "n4ts"
	c.Mesh.Seeds = []string{"a:1"}
	r := c.Redacted()
	if r.Chat.NATSPassword != "" || r.Chat.NATSUser != "bots" {
		t.Errorf("Redacted chat = %+v", r.Chat)
	}
	if c.Chat.NATSPassword != "n4ts" {
		t.Error("Redacted changed the original's NATS password")
	}
	if r.Origin.SecretKey != "" || r.Origin.AccessKey != "AKIA" {
		t.Errorf("Redacted origin = %+v", r.Origin)
	}
	if c.Origin.SecretKey != "s3cr3t" {
		t.Error("Redacted changed the original")
	}
	r.Mesh.Seeds[0] = "changed:1"
	if c.Mesh.Seeds[0] != "a:1" {
		t.Error("Redacted shares the seeds slice with the original")
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // paths
	}{
		{"defaults", func(c *Config) {}, nil},
		{"short probe timeout", func(c *Config) { c.Mesh.ProbeTimeout = 100 * time.Millisecond }, []string{"mesh.probe_timeout"}},
		{"short probe timeout, WAN emulation (an error instead)", func(c *Config) {
			c.Mesh.ProbeTimeout, c.Mesh.WANEmulation = 100*time.Millisecond, true
		}, nil},
		{"plain http to a local origin", func(c *Config) { c.Origin.UseTLS, c.Origin.Endpoint = false, "127.0.0.1:9000" }, nil},
		{"plain http to a compose service", func(c *Config) { c.Origin.UseTLS, c.Origin.Endpoint = false, "minio:9000" }, nil},
		{"plain http to a private address", func(c *Config) { c.Origin.UseTLS, c.Origin.Endpoint = false, "10.1.2.3" }, nil},
		{"plain http to a remote origin", func(c *Config) { c.Origin.UseTLS = false }, []string{"origin.use_tls"}},
		{"read timeout within the origin timeout", func(c *Config) { c.HTTP.ReadTimeout = c.Origin.Timeout }, []string{"http.read_timeout"}},
		{"plain http to a public IPv6 origin", func(c *Config) { c.Origin.UseTLS, c.Origin.Endpoint = false, "[2001:db8::1]:9000" }, []string{"origin.use_tls"}},
	}
	for _, tt := range tests {
		c := validConfig()
		tt.change(&c)
		var got []string
		for _, p := range c.Warnings() {
			got = append(got, p.Path)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: warnings at %q, want %q\n%v", tt.name, got, tt.want, c.Warnings())
		}
	}
}
