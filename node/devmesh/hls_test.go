package devmesh

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node"

	"github.com/relaymesh/relaymesh/origin"
)

// TestDevMeshServesHLSFromTheEmbeddedOrigin: an object put into the dev
// mesh's origin is served by every edge, with HLS headers.
func TestDevMeshServesHLSFromTheEmbeddedOrigin(t *testing.T) {
	opts := testOptions(t)
	opts.WAN = false
	m := startMesh(t, opts)
	client, err := origin.New(node.OriginClientConfig(m.originConfig()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n"
	if _, err := client.Put(ctx, "mine/index.m3u8", strings.NewReader(playlist), int64(len(playlist)), "application/vnd.apple.mpegurl"); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Nodes() {
		resp, err := http.Get(n.HTTPURL() + "/hls/mine/index.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != playlist || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
			t.Errorf("%s: %d %q %v", n.Name(), resp.StatusCode, body, resp.Header)
		}
	}
}

// TestDevMeshPublishesTheDemoStream: `relaymesh dev` has something to
// watch: the demo stream's live playlist is served by every node and moves.
func TestDevMeshPublishesTheDemoStream(t *testing.T) {
	opts := testOptions(t)
	opts.WAN = false
	m := startMesh(t, opts)
	seq := func(url string) string {
		resp, err := http.Get(url)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:") {
				return l
			}
		}
		return ""
	}
	url := m.Nodes()[3].HTTPURL() + "/hls/demo/index.m3u8"
	first := ""
	deadline := time.Now().Add(10 * time.Second)
	for ; first == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		first = seq(url)
	}
	if first == "" {
		t.Fatal("no demo playlist")
	}
	for time.Now().Before(deadline) {
		if s := seq(url); s != "" && s != first {
			return // the live window moved
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("demo playlist stuck at %q", first)
}
