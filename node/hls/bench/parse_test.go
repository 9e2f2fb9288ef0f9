package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseCacheStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want cacheResult
	}{
		{"", cacheResult{}},
		{"  ", cacheResult{}},
		{"relaymesh; hit", cacheResult{known: true, hit: true}},
		{"relaymesh;hit", cacheResult{known: true, hit: true}},
		{"seoul-1; fwd=miss", cacheResult{known: true}},
		{"relaymesh; fwd=miss; stored", cacheResult{known: true}},
		{"relaymesh; fwd=miss; collapsed", cacheResult{known: true, collapsed: true}},
		{"relaymesh; hit; ttl=-3; detail=origin-unavailable", cacheResult{known: true, hit: true, stale: true}},
		{"relaymesh; hit; ttl=30", cacheResult{known: true, hit: true}},
		{"relaymesh; hit=?0", cacheResult{known: true}},
		{"relaymesh; hit=?1", cacheResult{known: true, hit: true}},
		{"relaymesh; fwd=stale; ttl=-1", cacheResult{known: true}}, // stale applies to hits only
		// Only the last member (the cache nearest the player) counts;
		// commas and semicolons in quoted strings do not split.
		{`origin-shield; hit, relaymesh; fwd=miss; detail="a, b; hit"`, cacheResult{known: true}},
		{`other; fwd=miss, "quoted, name"; hit`, cacheResult{known: true, hit: true}},
	} {
		if got := parseCacheStatus(tc.in); got != tc.want {
			t.Errorf("parseCacheStatus(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseFills(t *testing.T) {
	const exposition = `# HELP relaymesh_hls_fills_total Where fills came from.
# TYPE relaymesh_hls_fills_total counter
relaymesh_hls_fills_total{kind="playlist",source="origin"} 12
relaymesh_hls_fills_total{source="origin",kind="segment"} 40
relaymesh_hls_fills_total{ kind = "segment" , source="peer", } 100
relaymesh_hls_fills_total{kind="segment",source="origin",node="a \"quoted\" \\ name\n"} 2 1700000000000
relaymesh_hls_fills_totally{kind="segment",source="origin"} 1000
relaymesh_hls_cache_requests_total{result="miss"} 5
`
	f, err := parseFills(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if want := (fills{segment: 42, playlist: 12, origin: 54, byKind: true}); f != want {
		t.Errorf("parseFills = %+v, want %+v", f, want)
	}

	// Before the kind label: only the source.
	f, err = parseFills(strings.NewReader("relaymesh_hls_fills_total{source=\"origin\"} 7\nrelaymesh_hls_fills_total{source=\"peer\"} 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (fills{origin: 7}); f != want {
		t.Errorf("without kind: %+v, want %+v", f, want)
	}

	for _, bad := range []string{
		`relaymesh_hls_fills_total{source="origin"`,
		`relaymesh_hls_fills_total{source=origin} 1`,
		`relaymesh_hls_fills_total{source="origin"} many`,
		`relaymesh_hls_fills_total{source="origin\"} 1`,
		`relaymesh_hls_fills_total `,
	} {
		if _, err := parseFills(strings.NewReader(bad)); err == nil {
			t.Errorf("parseFills(%q) succeeded", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no players", func(c *Config) { c.Players = 0 }, "players must be at least 1; got 0"},
		{"negative players", func(c *Config) { c.Players = -3 }, "players must be at least 1; got -3"},
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration must be above 0; got 0s"},
		{"negative ramp", func(c *Config) { c.Ramp = -time.Second }, "ramp must not be negative; got -1s"},
		{"no timeout", func(c *Config) { c.RequestTimeout = 0 }, "request timeout must be above 0"},
		{"stream with a slash", func(c *Config) { c.Stream = "a/b" }, `stream must be one path segment; got "a/b"`},
		{"empty stream", func(c *Config) { c.Stream = "" }, `stream must be one path segment; got ""`},
		{"playlist climbing out", func(c *Config) { c.Playlist = "../other/index.m3u8" }, "playlist must be a clean relative path"},
		{"absolute playlist", func(c *Config) { c.Playlist = "/index.m3u8" }, "playlist must be a clean relative path"},
		{"playlist with a query", func(c *Config) { c.Playlist = "index.m3u8?x=1" }, "playlist must be a clean relative path"},
	} {
		cfg := DefaultConfig()
		tc.mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Every problem at once.
	cfg := DefaultConfig()
	cfg.Players, cfg.Duration = 0, 0
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "players") || !strings.Contains(err.Error(), "duration") {
		t.Errorf("two mistakes: %v", err)
	}
}

func TestValidNodeURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8081", "https://edge.example.com", "http://[::1]:8081/"} {
		if err := ValidNodeURL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8081", "ftp://x", "http://", "http://a:1/?q=1", "http://user:pw@a:1", "://"} {
		if err := ValidNodeURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
