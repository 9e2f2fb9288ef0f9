package config

import (
	"errors"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/chat/wire"
)

func TestDefaultPorts(t *testing.T) {
	d := Defaults()
	if d.HTTP.Listen != ":8080" || DefaultHTTPPort != 8080 {
		t.Errorf("HTTP listen default = %q (DefaultHTTPPort %d), want \":8080\"", d.HTTP.Listen, DefaultHTTPPort)
	}
	if d.Mesh.Listen != ":7946" || DefaultMeshPort != 7946 {
		t.Errorf("mesh listen default = %q (DefaultMeshPort %d), want \":7946\"", d.Mesh.Listen, DefaultMeshPort)
	}
}

// TestDefaultsNeedOnlyRequiredFields checks that every default is itself
// valid: filling in the fields without a default is enough.
func TestDefaultsNeedOnlyRequiredFields(t *testing.T) {
	c := validConfig()
	c.Node.Name = Defaults().Node.Name // the host's own name must be usable
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults plus required fields are invalid:\n%v", err)
	}
}

func TestDefaultsAloneNameTheRequiredFields(t *testing.T) {
	c := Defaults()
	ps := problemsOf(t, c.Validate())
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{"node.region", "mesh.advertise", "origin.endpoint", "origin.bucket"}
	if len(paths) != len(want) {
		t.Fatalf("Defaults().Validate() paths = %q, want %q\n%v", paths, want, ps)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Errorf("problem %d at %q, want %q", i, paths[i], want[i])
		}
	}
}

func TestDefaultsAreFresh(t *testing.T) {
	a := Defaults()
	a.Mesh.Seeds = append(a.Mesh.Seeds, "x:1")
	if b := Defaults(); len(b.Mesh.Seeds) != 0 {
		t.Fatal("changing one Defaults() result changed another")
	}
}

func TestSanitizeNodeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"edge-1", "edge-1"},
		{"Edge-1", "edge-1"},
		{"ip-10-0-1-5.ap-northeast-2.compute.internal", "ip-10-0-1-5-ap-northeast-2-compute-internal"},
		{"my_host", "my-host"},
		{"--host--", "host"},
		{"a..b", "a-b"},
		{"ÄÖÜ", ""},
		{"host-ü", "host"},
		{"", ""},
		{"...", ""},
		{"a234567890123456789012345678901234567890123456789012345678901234567890", "a23456789012345678901234567890123456789012345678901234567890123"},
		{"a23456789012345678901234567890123456789012345678901234567890.bc", "a23456789012345678901234567890123456789012345678901234567890-bc"},
		{"a2345678901234567890123456789012345678901234567890123456789012.bc", "a2345678901234567890123456789012345678901234567890123456789012"},
	}
	for _, tt := range tests {
		got := sanitizeNodeName(tt.in)
		if got != tt.want {
			t.Errorf("sanitizeNodeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" && !nodeNamePattern.MatchString(got) {
			t.Errorf("sanitizeNodeName(%q) = %q, not a valid node name", tt.in, got)
		}
	}
}

func TestDefaultNodeName(t *testing.T) {
	tests := []struct {
		name     string
		hostname string
		err      error
		want     string
	}{
		{"plain", "Seoul-Edge-1", nil, "seoul-edge-1"},
		{"hostname fails", "", errors.New("no hostname"), fallbackNodeName},
		{"nothing usable", "___", nil, fallbackNodeName},
	}
	for _, tt := range tests {
		got := defaultNodeName(func() (string, error) { return tt.hostname, tt.err })
		if got != tt.want {
			t.Errorf("%s: defaultNodeName = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestChatDefaults pins the chat defaults to the platform's numbers and to
// the protocol's own defaults (node/chat/wire), which docs/chat-protocol.md
// documents.
func TestChatDefaults(t *testing.T) {
	got := Defaults().Chat
	want := Chat{
		HistoryOnJoin:    50,
		RecoveryWindow:   1000,
		RecoveryMemory:   512 << 20,
		Retention:        30 * 24 * time.Hour,
		RatePerSecond:    5,
		RateBurst:        10,
		MaxTextBytes:     wire.DefaultMaxTextBytes,
		MaxFrameBytes:    wire.DefaultMaxFrameBytes,
		PresenceInterval: time.Second,
		PresenceFrames:   2000,
		SendBuffer:       256 << 10,
		DrainTimeout:     10 * time.Second,
		BatchWindow:      50 * time.Millisecond,
		PingInterval:     20 * time.Second,
	}
	if got != want {
		t.Errorf("chat defaults\n%+v\nwant\n%+v", got, want)
	}
	if maxHistoryOnJoin != wire.MaxHistoryLimit {
		t.Errorf("history_on_join limit %d, protocol history limit %d", maxHistoryOnJoin, wire.MaxHistoryLimit)
	}
}
