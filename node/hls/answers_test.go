package hls

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestMultiRangeIsNotAmplified asks a real HTTP server for many small and
// for overlapping ranges of a 1000-byte segment: past maxRanges, or with
// an overlap, the answer is the whole body (200), never more than the
// body and a few part headers. A thousand 1-byte ranges made a 134 KB
// answer before.
func TestMultiRangeIsNotAmplified(t *testing.T) {
	f := newFixture(t)
	const size = 1000
	f.put(t, "live/seg0.ts", strings.Repeat("S", size))
	var thousand []string
	for i := range size {
		thousand = append(thousand, fmt.Sprintf("%d-%d", i, i))
	}
	for _, tc := range []struct {
		ranges string
		want   int
	}{
		{"bytes=" + strings.Join(thousand, ","), http.StatusOK},
		{"bytes=0-0,2-2,4-4,6-6,8-8", http.StatusOK}, // maxRanges+1
		{"bytes=0-499,100-599", http.StatusOK},       // overlap
		{"bytes=0-,-1", http.StatusOK},               // overlap, open and suffix
		{"bytes=0-0,2-2,4-4,6-6", http.StatusPartialContent},
		{"bytes=0-9", http.StatusPartialContent},
		{"bytes=0-1,,x", http.StatusRequestedRangeNotSatisfiable},
	} {
		resp, body := f.do(t, "GET", "/hls/live/seg0.ts", map[string]string{"Range": tc.ranges})
		if resp.StatusCode != tc.want || len(body) > size+1024 {
			t.Errorf("Range %.40s: %d with %d bytes, want %d with at most %d", tc.ranges, resp.StatusCode, len(body), tc.want, size+1024)
		}
	}
}

// TestAnswersAreJSONAndNotSniffed: every answer says nosniff, and every
// error body is JSON, whatever printable runes the key holds (Go's %q
// wrote \U00050000, which JSON does not know).
func TestAnswersAreJSONAndNotSniffed(t *testing.T) {
	f := newFixture(t)
	f.put(t, "live/index.m3u8", "#EXTM3U\n")
	for _, p := range []string{
		"/hls/live/index.m3u8",           // 200
		"/hls/live/\U00050000%22'.m3u8",  // 404 not_found, the key in the message
		"/hls/live/\U00050000.txt",       // 404 not_hls
		"/hls/live/..%2f\U00050000.m3u8", // 400 bad_path
	} {
		resp, body := f.do(t, "GET", p, nil)
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", p, got)
		}
		if resp.StatusCode == http.StatusOK {
			continue
		}
		var e struct{ Error, Message string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
			t.Errorf("GET %s: %d, body %q is not a JSON error: %v", p, resp.StatusCode, body, err)
		}
	}
}
