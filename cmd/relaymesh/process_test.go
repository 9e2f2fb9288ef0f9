package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// freePort returns a port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestBinaryLeavesGracefullyOnSIGTERM runs two real `relaymesh node`
// processes from config files and certificates made by `relaymesh certs`,
// sends one SIGTERM, and checks that it exits 0 and that its peer records
// a leave, not a failure.
func TestBinaryLeavesGracefullyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	caDir := filepath.Join(dir, "ca")
	if code, _, errs := runCmd(t, "certs", "ca", "--out", caDir); code != 0 {
		t.Fatal(errs)
	}

	type proc struct {
		name, http, mesh string
		cmd              *exec.Cmd
	}
	start := func(name, region, seed string) *proc {
		p := &proc{name: name,
			http: fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp")),
			mesh: fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp"))}
		tlsDir := filepath.Join(dir, name)
		if code, _, errs := runCmd(t, "certs", "node", "--ca", caDir, "--name", name, "--host", "127.0.0.1", "--out", tlsDir); code != 0 {
			t.Fatal(errs)
		}
		seeds := "[]"
		if seed != "" {
			seeds = fmt.Sprintf("[%q]", seed)
		}
		cfg := fmt.Sprintf(`node: {name: %s, region: %s, data_dir: %s}
http: {listen: %q, shutdown_timeout: 2s}
mesh: {listen: %q, seeds: %s, probe_interval: 500ms, probe_timeout: 400ms, leave_timeout: 2s}
tls: {ca_file: %s, cert_file: %s, key_file: %s}
origin: {endpoint: "127.0.0.1:9", bucket: relaymesh, use_tls: false}
log: {format: text}
`, name, region, filepath.Join(dir, name, "data"), p.http, p.mesh, seeds,
			filepath.Join(caDir, "ca.pem"), filepath.Join(tlsDir, name+".pem"), filepath.Join(tlsDir, name+"-key.pem"))
		cfgPath := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		p.cmd = exec.Command(bin, "node", "--config", cfgPath)
		p.cmd.Stderr = &prefixWriter{t: t, prefix: name}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
				_ = p.cmd.Wait()
			}
		})
		return p
	}
	a := start("seoul-1", "seoul", "")
	b := start("tokyo-1", "tokyo", a.mesh)

	stateOf := func(observer *proc, name string) string {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + observer.http + "/v1/mesh")
		if err != nil {
			return "unreachable"
		}
		defer resp.Body.Close()
		var v struct {
			Members []struct{ Name, State string }
		}
		if json.NewDecoder(resp.Body).Decode(&v) != nil {
			return "bad json"
		}
		for _, m := range v.Members {
			if m.Name == name {
				return m.State
			}
		}
		return "absent"
	}
	waitState := func(observer *proc, name, want string) {
		deadline := time.Now().Add(15 * time.Second)
		for got := ""; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = stateOf(observer, name); got == want {
				return
			}
		}
		t.Fatalf("%s never saw %s as %s (last: %s)", observer.name, name, want, stateOf(observer, name))
	}
	waitState(a, "tokyo-1", "alive")

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tokyo-1 exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tokyo-1 did not exit within 15 s of SIGTERM")
	}
	waitState(a, "tokyo-1", "left")
}

type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.prefix, p)
	return len(p), nil
}

// buildBinary builds this command into dir and returns its path, for the
// tests that run it as its users do.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "relaymesh")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
