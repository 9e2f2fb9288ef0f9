//go:build linux

package procs

import (
	"bytes"
	"context"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/devmesh"
)

// fakeMesh is a Mesh whose one node is the shell script body run as
// `script node --config FILE`, started without the readiness wait.
func fakeMesh(t *testing.T, body string) (*Mesh, *child, *bytes.Buffer) {
	t.Helper()
	o := devmesh.DefaultOptions()
	o.HTTPPort, o.MeshPort, o.OriginPort = 0, 0, 0
	o.DataDir = t.TempDir()
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := devmesh.StartBase(o)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "node.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer // written only by the child's goroutine, read after it is done
	m := &Mesh{Base: b, died: make(chan struct{})}
	cfg := config.Defaults()
	cfg.Node.Name, cfg.Node.Region = "seoul-1", "seoul"
	c := newChild(cfg, script, "unused.yaml", "", &lineWriter{mu: &sync.Mutex{}, w: &out, prefix: "seoul-1 | "})
	m.children = []*child{c}
	if err := m.startChild(c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
	})
	return m, c, &out
}

// TestShutdownKillsAStraggler: a node that ignores SIGTERM is killed when
// Shutdown's context ends, and Shutdown says so.
func TestShutdownKillsAStraggler(t *testing.T) {
	m, c, _ := fakeMesh(t, "trap '' TERM\necho up\nexec sleep 600") // sleep inherits the ignored TERM
	waitOutput(t, c, "up")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := m.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "node seoul-1 (pid") || !strings.Contains(err.Error(), "did not stop in time: killed") {
		t.Fatalf("Shutdown = %v, want the straggler reported as killed", err)
	}
	if err := syscall.Kill(c.pid, 0); err != syscall.ESRCH {
		t.Fatalf("pid %d still exists after Shutdown (kill 0: %v)", c.pid, err)
	}
	select {
	case <-m.Died():
		t.Fatal("a node stopped by Shutdown was reported as died")
	default:
	}
}

// TestDiedReportsAnUnexpectedExit: a node that exits on its own closes
// Died, and Err names it with its exit status; its output is kept.
func TestDiedReportsAnUnexpectedExit(t *testing.T) {
	m, c, out := fakeMesh(t, "echo 'relaymesh node: cannot bind' >&2\nexit 3")
	select {
	case <-m.Died():
	case <-time.After(30 * time.Second):
		t.Fatal("Died not closed 30 s after the node exited")
	}
	if err := m.Err(); err == nil || !strings.Contains(err.Error(), "node seoul-1 (pid") || !strings.Contains(err.Error(), "exited unexpectedly: exit status 3") {
		t.Fatalf("Err = %v", err)
	}
	<-c.done
	if got := out.String(); got != "seoul-1 | relaymesh node: cannot bind\n" {
		t.Fatalf("output %q", got)
	}
}

// waitOutput waits until the child has written want (and so is past its
// script's setup).
func waitOutput(t *testing.T, c *child, want string) {
	t.Helper()
	output := func() string {
		c.out.mu.Lock()
		defer c.out.mu.Unlock()
		return c.out.w.(*bytes.Buffer).String()
	}
	if !nodetest.Poll(30*time.Second, func() bool { return strings.Contains(output(), want) }) {
		t.Fatalf("child never wrote %q (output %q)", want, output())
	}
}
