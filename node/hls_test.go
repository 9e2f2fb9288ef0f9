package node

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHLSKnowsTheConfiguredStreams: the node hands its ingest streams to
// the HLS server as the streams it knows. With the origin unreachable, a
// segment of a configured stream is asked of it (504), one of an unknown
// stream is not (404 at once), and the metrics say so.
func TestHLSKnowsTheConfiguredStreams(t *testing.T) {
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.Ingest.StreamKeys = map[string]string{"live": "0123456789abcdef0123"}
	cfg.Origin.AccessKey, cfg.Origin.SecretKey = "k", "s" // not the instance-role chain, which dials out
	n := startNode(t, cfg)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}} // no idle connection outlives the test (goleak)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(n.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get("/hls/nostream/seg1.ts"); st != http.StatusNotFound {
		t.Fatalf("unknown stream's segment: %d %s, want 404", st, body)
	}
	if st, body := get("/hls/live/seg1.ts"); st != http.StatusGatewayTimeout {
		t.Fatalf("configured stream's segment, origin down: %d %s, want 504", st, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{`relaymesh_hls_origin_refused_total{reason="unknown_stream"} 1`,
		`relaymesh_hls_origin_refused_total{reason="busy"} 0`, "relaymesh_hls_origin_requests_in_flight 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
