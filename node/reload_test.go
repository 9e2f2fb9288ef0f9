package node

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func push(t *testing.T, n *Node, bearer string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", n.HTTPURL()+"/ingest/live/seg0.ts", strings.NewReader("segment"))
	req.Header.Set("Authorization", "Bearer "+bearer)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, n *Node, path string) int {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(n.HTTPURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestReloadAppliesKeysAndLimits(t *testing.T) {
	const oldKey, newKey = "0123456789abcdef-old", "0123456789abcdef-new"
	cfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	cfg.Ingest.StreamKeys = map[string]string{"live": oldKey}
	// Static keys: without them minio-go asks the EC2 metadata service for
	// credentials, and keeps that connection past the test.
	cfg.Origin.AccessKey, cfg.Origin.SecretKey = "test", "test-secret"
	cfg.Ingest.WriteThroughWait = 100 * time.Millisecond // the origin is down: 202 soon
	n := startNode(t, cfg)
	if code := push(t, n, oldKey); code != http.StatusAccepted && code != http.StatusCreated {
		t.Fatalf("push with the key before reload: %d", code)
	}

	if code := get(t, n, "/hls/extra/seg0.ts"); code != http.StatusNotFound {
		t.Fatalf("a segment of an unknown stream: %d, want 404 without the origin", code)
	}

	next := cfg
	next.Ingest.StreamKeys = map[string]string{"live": newKey, "extra": "0123456789abcdef-extra"}
	next.HTTP.MaxConnsPerIP = 7
	next.HTTP.MaxConns = 50
	restart, err := n.Reload(next)
	if err != nil || len(restart) != 0 {
		t.Fatalf("Reload: %v, restart %v; want applied", err, restart)
	}
	if code := push(t, n, oldKey); code != http.StatusForbidden {
		t.Fatalf("push with the old key after reload: %d, want 403", code)
	}
	if code := push(t, n, newKey); code != http.StatusAccepted && code != http.StatusCreated {
		t.Fatalf("push with the new key: %d", code)
	}
	if l := n.httpLn.Limits(); l.PerIP != 7 || l.PerNode != 50 {
		t.Fatalf("limits %+v after reload", l)
	}
	if code := get(t, n, "/hls/extra/seg0.ts"); code == http.StatusNotFound {
		t.Fatal("a newly configured stream is still unknown to HLS (404 without the origin)")
	}

	// An invalid config changes nothing.
	bad := next
	bad.Ingest.StreamKeys = map[string]string{"live": "short"}
	bad.HTTP.MaxConnsPerIP = -1
	if _, err := n.Reload(bad); err == nil {
		t.Fatal("Reload accepted an invalid config")
	}
	if code := push(t, n, newKey); code != http.StatusAccepted && code != http.StatusCreated {
		t.Fatalf("push after a refused reload: %d", code)
	}
	if l := n.httpLn.Limits(); l.PerIP != 7 {
		t.Fatalf("a refused reload changed the limits: %+v", l)
	}

	// What needs a restart is reported, not applied.
	other := next
	other.HLS.CacheMemory *= 2
	other.HTTP.IdleTimeout = time.Minute + time.Second
	restart, err = n.Reload(other)
	if err != nil || !slices.Equal(restart, []string{"http", "hls"}) {
		t.Fatalf("Reload: %v, restart %v; want http and hls", err, restart)
	}
}
