package procs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/relaymesh/relaymesh/config"
)

// child is one node process. Its goroutine (run) owns the process from
// Start to Wait; the Mesh reads err and pid after done is closed or
// start has returned.
type child struct {
	name, region string
	http, mesh   string // listen addresses, which are also the advertised ones
	cmd          *exec.Cmd
	out          *lineWriter

	pid  int
	done chan struct{} // closed after Wait, if the process started
	err  error         // Wait's result, set before done is closed
}

func newChild(cfg config.Config, bin, configPath, profileDir string, out *lineWriter) *child {
	args := []string{"node", "--config", configPath}
	if profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(profileDir, cfg.Node.Name+".cpu.prof"))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out // one writer: exec then calls Write from one goroutine at a time
	cmd.Env = childEnv(os.Environ())
	cmd.SysProcAttr = sysProcAttr()
	return &child{
		name: cfg.Node.Name, region: cfg.Node.Region,
		http: cfg.HTTP.Listen, mesh: cfg.Mesh.Listen,
		cmd: cmd, out: out,
	}
}

// start starts the process and the goroutine that waits for it; exited is
// called from that goroutine once the process has exited.
func (c *child) start(exited func(*child)) error {
	errc := make(chan error, 1)
	go c.run(errc, exited)
	if err := <-errc; err != nil {
		return fmt.Errorf("procs: start node %s: %w", c.name, err)
	}
	return nil
}

func (c *child) run(errc chan<- error, exited func(*child)) {
	// Linux sends the parent-death signal when the thread that forked the
	// child exits, not the process. Go ends a thread only when a goroutine
	// locked to it returns; holding this thread for the child's lifetime
	// keeps any other goroutine from locking it and taking it down.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := c.cmd.Start(); err != nil {
		errc <- err
		return
	}
	c.pid = c.cmd.Process.Pid
	c.done = make(chan struct{})
	errc <- nil
	c.err = c.cmd.Wait()
	c.out.flush()
	exited(c)
	close(c.done)
}

func (c *child) started() bool { return c.done != nil }

// terminate asks the node to stop gracefully.
func (c *child) terminate() { c.signal(syscall.SIGTERM) }

// kill stops the node at once.
func (c *child) kill() { c.signal(syscall.SIGKILL) }

func (c *child) signal(sig os.Signal) {
	// An error means the process has already exited, which Wait reports.
	_ = c.cmd.Process.Signal(sig)
}

// childEnv is the parent's environment without RELAYMESH_* variables:
// they override the config file (RELAYMESH_NODE_NAME would give every node
// one name), and each node's config is complete.
func childEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "RELAYMESH_") })
}

// describeExit says how a node process ended, from Wait's error.
func describeExit(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.ProcessState.String()
	default:
		return err.Error()
	}
}

// maxLine bounds the partial line a lineWriter holds; a longer line is
// written out in pieces.
const maxLine = 64 << 10

// lineWriter writes whole lines to w, each with prefix. Writers of
// several nodes share mu, so their lines never interleave. Write never
// fails: a broken w must not stall a node on a full pipe.
type lineWriter struct {
	mu      *sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) >= maxLine {
				l.emitLocked([]byte("\n"))
			}
			break
		}
		l.emitLocked(p[:i+1])
		p = p[i+1:]
	}
	return n, nil
}

// flush writes out a last line that had no newline.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.emitLocked([]byte("\n"))
	}
}

func (l *lineWriter) emitLocked(end []byte) {
	line := make([]byte, 0, len(l.prefix)+len(l.partial)+len(end))
	line = append(append(append(line, l.prefix...), l.partial...), end...)
	_, _ = l.w.Write(line)
	l.partial = l.partial[:0]
}
