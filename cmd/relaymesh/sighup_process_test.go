package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/nodetest"
)

// TestBinaryReloadsOnSIGHUP: a running node takes a new stream key on
// SIGHUP, keeps it when the file turns invalid (printing every problem),
// and still stops gracefully on SIGTERM.
func TestBinaryReloadsOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	caDir, tlsDir := filepath.Join(dir, "ca"), filepath.Join(dir, "tls")
	if code, _, errs := runCmd(t, "certs", "ca", "--out", caDir); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runCmd(t, "certs", "node", "--ca", caDir, "--name", "seoul-1", "--host", "127.0.0.1", "--out", tlsDir); code != 0 {
		t.Fatal(errs)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	cfgPath := filepath.Join(dir, "node.yaml")
	write := func(ingest string) {
		cfg := fmt.Sprintf(`node: {name: seoul-1, region: seoul, data_dir: %s}
http: {listen: %q, shutdown_timeout: 2s}
mesh: {listen: "127.0.0.1:%d", leave_timeout: 1s}
tls: {ca_file: %s, cert_file: %s, key_file: %s}
origin: {endpoint: "127.0.0.1:9", bucket: relaymesh, use_tls: false, access_key: test, secret_key: test-secret}
log: {format: text}
ingest: %s
`, filepath.Join(dir, "data"), httpAddr, freePort(t, "udp"), filepath.Join(caDir, "ca.pem"),
			filepath.Join(tlsDir, "seoul-1.pem"), filepath.Join(tlsDir, "seoul-1-key.pem"), ingest)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const oldKey, newKey = "0123456789abcdef-old", "0123456789abcdef-new"
	write(fmt.Sprintf("{stream_keys: {live: %s}, write_through_wait: 100ms}", oldKey))

	stderr := &nodetest.SyncBuffer{}
	cmd := exec.Command(bin, "node", "--config", cfgPath)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	push := func(key string) int {
		req, _ := http.NewRequest("PUT", "http://"+httpAddr+"/ingest/live/seg0.ts", strings.NewReader("segment"))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	accepted := func(code int) bool { return code == http.StatusAccepted || code == http.StatusCreated }
	nodetest.WaitFor(t, 30*time.Second, "the node to take pushes with the first key", func() bool { return accepted(push(oldKey)) })

	write(fmt.Sprintf("{stream_keys: {live: %s}, write_through_wait: 100ms}", newKey))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the new key after SIGHUP", func() bool { return accepted(push(newKey)) })
	if code := push(oldKey); code != http.StatusForbidden {
		t.Fatalf("old key after reload: %d, want 403", code)
	}

	write("{stream_keys: {live: short}, upload_rate_window: soon}")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the refused reload reported", func() bool {
		s := stderr.String()
		return strings.Contains(s, "not reloaded") && strings.Contains(s, "ingest.upload_rate_window") &&
			strings.Contains(s, "ingest.stream_keys.live")
	})
	if code := push(newKey); !accepted(code) {
		t.Fatalf("push after a refused reload: %d, want the running key kept", code)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20 s of SIGTERM")
	}
}
