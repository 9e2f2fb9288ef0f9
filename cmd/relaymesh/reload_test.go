package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
)

func TestSIGHUPReloadsAndDoesNotStop(t *testing.T) {
	sigs := make(chan os.Signal, 3)
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	reloads, stops := 0, 0
	var stderr strings.Builder
	code := waitAndStopReloading(&stderr, sigs, func() { reloads++ },
		func(context.Context) error { stops++; return nil }, 5*time.Second)
	if code != 0 || reloads != 2 || stops != 1 {
		t.Fatalf("code %d, %d reloads, %d stops; want 0, 2, 1\n%s", code, reloads, stops, stderr.String())
	}
}

type fakeNode struct{ got []config.Config }

func (f *fakeNode) Reload(cfg config.Config) ([]string, error) {
	f.got = append(f.got, cfg)
	return []string{"hls"}, nil
}

const reloadBase = `node: {name: edge-1, region: tokyo}
mesh: {advertise: "10.0.1.5:7946"}
origin: {endpoint: s3.example.com, bucket: media}
`

func TestReloadConfigKeepsTheRunningOneOnProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(reloadBase+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n := &fakeNode{}
	env := func(string) string { return "" }

	write("ingest: {stream_keys: {live: 0123456789abcdef-new}}\nhttp: {max_conns_per_ip: 7}\n")
	var out strings.Builder
	reloadConfig(&out, path, env, n)
	if len(n.got) != 1 || n.got[0].Ingest.StreamKeys["live"] != "0123456789abcdef-new" || n.got[0].HTTP.MaxConnsPerIP != 7 {
		t.Fatalf("reload handed %+v", n.got)
	}
	if !strings.Contains(out.String(), "reloaded") || !strings.Contains(out.String(), "hls need a restart") {
		t.Fatalf("stderr: %s", out.String())
	}

	write("ingest: {stream_keys: {live: short}, upload_rate_window: soon}\nhttp: {max_conns_per_ip: -1}\n")
	out.Reset()
	reloadConfig(&out, path, env, n)
	if len(n.got) != 1 {
		t.Fatal("an invalid file was handed to the node")
	}
	for _, want := range []string{"not reloaded", "ingest.upload_rate_window", "ingest.stream_keys.live", "http.max_conns_per_ip"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, out.String())
		}
	}
}
