package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/relaymesh/relaymesh/node/chat/wire"
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

func TestBenchChatRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "chat", "--mode", "fast"}, `mode must be delivery or publish; got "fast"`},
		{[]string{"bench", "chat", "--servers", "http://127.0.0.1:1", "--nodes", "http://127.0.0.1:2"}, "give --servers or --nodes, not both"},
		{[]string{"bench", "chat", "--workers", "-1"}, "--workers and --source-addrs must be at least 0"},
		{[]string{"bench", "chat", "--source-first", "::1", "--source-addrs", "2"}, "is not IPv4"},
		{[]string{"bench", "chat", "--source-first", "localhost"}, "--source-first"},
		{[]string{"bench", "chat", "--servers", "ftp://127.0.0.1:1", "--quiet"}, `node address "ftp://127.0.0.1:1" is not an http(s)://host:port URL`},
	} {
		code, out, errs := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("relaymesh %s: exit %d, stdout %q, stderr %q; want exit 2 and %q",
				strings.Join(tc.args, " "), code, out, errs, tc.want)
		}
	}
}

// fakeChat is the smallest chat server the bench accepts: synced on join,
// and every publish acked and echoed to its publisher (one fan per room).
func fakeChat(t *testing.T) *httptest.Server {
	var seq atomic.Uint64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := r.Context()
		send := func(f wire.ServerFrame) error {
			b, _ := wire.Encode(f)
			return conn.Write(ctx, websocket.MessageText, b)
		}
		if send(wire.Synced{Complete: true}) != nil {
			return
		}
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			f, ferr := wire.DecodeClientFrame(data, wire.Limits{})
			if ferr != nil {
				continue
			}
			id := wire.ID{Origin: "fake", Seq: seq.Add(1)}
			now := time.Now().UTC().Truncate(time.Millisecond)
			if send(wire.Ack{Nonce: f.Nonce, ID: id, TS: now}) != nil ||
				send(wire.Message{ID: id, Room: r.URL.Query().Get("room"), User: "anon", Text: f.Text, TS: now, Region: "local"}) != nil {
				return
			}
		}
	}))
}

// TestBenchChatPublishModeAgainstServers runs --mode publish with --servers
// against a stand-in server, in this process, from 3 source addresses.
func TestBenchChatPublishModeAgainstServers(t *testing.T) {
	srv := fakeChat(t)
	defer srv.Close()
	code, out, errs := runCmd(t, "bench", "chat", "--servers", srv.URL, "--mode", "publish", "--fans", "6", "--rate", "60",
		"--source-addrs", "3", "--workers", "1", "--warmup", "200ms", "--duration", "1s", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var rep struct {
		Mode       string `json:"mode"`
		Rooms      int    `json:"rooms"`
		Publishers int    `json:"publishers"`
		Sources    int    `json:"sources"`
		AckLatency struct {
			Count uint64  `json:"count"`
			P99Ms float64 `json:"p99_ms"`
		} `json:"ack_latency"`
		Total struct {
			Lost int64 `json:"lost"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	// 60 msg/s over 6 publishers for 1 s: about 60 measured acks.
	if rep.Mode != "publish" || rep.Rooms != 6 || rep.Publishers != 6 || rep.Sources != 3 ||
		rep.AckLatency.Count < 30 || rep.AckLatency.P99Ms <= 0 || rep.Total.Lost != 0 {
		t.Errorf("report:\n%s", out)
	}
}
