package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBenchHLSRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "hls", "--players", "0"}, "players must be at least 1; got 0"},
		{[]string{"bench", "hls", "--duration", "-1s"}, "duration must be above 0; got -1s"},
		{[]string{"bench", "hls", "--nodes", "ftp://127.0.0.1:8081"}, `node address "ftp://127.0.0.1:8081" is not an http(s)://host:port URL`},
		{[]string{"bench", "hls", "--discover", "127.0.0.1:8081"}, `node address "127.0.0.1:8081" is not an http(s)://host:port URL`},
		{[]string{"bench", "hls", "--nodes", ","}, `lists no node`},
		{[]string{"bench", "hls", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"bench", "hls", "--players", "many"}, `invalid value "many" for flag -players`},
	} {
		code, out, errs := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("relaymesh %s: exit %d, stdout %q, stderr %q; want exit 2 and %q",
				strings.Join(tc.args, " "), code, out, errs, tc.want)
		}
	}
}

func TestBenchUsageListsTheBenchmarks(t *testing.T) {
	code, out, _ := runCmd(t, "bench", "--help")
	if code != 0 || !strings.Contains(out, "bench chat|hls") || !strings.Contains(out, "  hls ") || !strings.Contains(out, "  chat ") {
		t.Errorf("bench --help: exit %d, stdout %q", code, out)
	}
	if code, _, errs := runCmd(t, "bench", "video"); code != 2 || !strings.Contains(errs, "bench chat|hls") {
		t.Errorf("bench video: exit %d, stderr %q", code, errs)
	}
	code, _, errs := runCmd(t, "bench", "hls", "--help")
	if code != 0 || !strings.Contains(errs, "-players") || !strings.Contains(errs, "-ramp") {
		t.Errorf("bench hls --help: exit %d, stderr %q", code, errs)
	}
}

// TestBenchHLSAgainstAFakeNode runs the whole command against one
// stand-in node (mesh view, a still live playlist, segments, metrics)
// and reads its JSON report.
func TestBenchHLSAgainstAFakeNode(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	mux.HandleFunc("GET /v1/mesh", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"self":{"name":"seoul-1","region":"seoul"},"members":[{"name":"seoul-1","region":"seoul","state":"alive","http":%q}]}`, host)
	})
	mux.HandleFunc("GET /hls/demo/index.m3u8", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:1,\nseg4.ts\n#EXTINF:1,\nseg5.ts\n")
	})
	mux.HandleFunc("GET /hls/demo/{seg}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Status", "seoul-1; hit")
		fmt.Fprint(w, strings.Repeat("x", 500))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "relaymesh_hls_fills_total{kind=\"segment\",source=\"origin\"} 3\n")
	})

	code, out, errs := runCmd(t, "bench", "hls", "--nodes", srv.URL, "--players", "3", "--ramp", "0s", "--duration", "300ms", "--json", "--quiet")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var rep struct {
		Players  int `json:"players"`
		Segments struct {
			Requests int64 `json:"requests"`
			Bytes    int64 `json:"bytes"`
			Cache    struct {
				HitRatio float64 `json:"hit_ratio"`
			} `json:"cache"`
		} `json:"segments"`
		Playback struct {
			Received int64 `json:"received"`
		} `json:"playback"`
		Origin struct {
			Scraped    int      `json:"scraped"`
			PerSegment *float64 `json:"per_segment"`
		} `json:"origin"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.Players != 3 || rep.Playback.Received != 6 || rep.Segments.Bytes != 3000 || rep.Segments.Cache.HitRatio != 1 ||
		rep.Origin.Scraped != 1 || rep.Origin.PerSegment == nil || *rep.Origin.PerSegment != 0 {
		t.Errorf("report:\n%s", out)
	}
	code, out, errs = runCmd(t, "bench", "hls", "--nodes", srv.URL, "--players", "1", "--ramp", "0s", "--duration", "100ms", "--quiet")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "relaymesh bench hls: 1 players on 1 nodes") ||
		!strings.Contains(out, "\nbench process: cpu ") {
		t.Errorf("text report: exit %d, stderr %q, stdout:\n%s", code, errs, out)
	}
}
