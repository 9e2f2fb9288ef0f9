//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run `relaymesh dev --processes --per-region 1`, a parent and
// four node processes, and check that the parent never leaves a node
// behind: after a graceful SIGTERM, after its own SIGKILL, and after a node
// dies under it. Linux only: they read /proc and rely on the parent-death
// signal.

// TestDevProcessesStopOnSIGTERM waits until the parent reports the mesh
// ready, checks that its nodes are four distinct processes of the parent
// that see each other alive, then stops the parent with SIGTERM and checks
// that it exits 0 and every node process is gone.
func TestDevProcessesStopOnSIGTERM(t *testing.T) {
	d := startDevProcesses(t)
	d.waitStdout(t, "press Ctrl-C to stop", 3*time.Minute)

	rows := d.rows(t)
	if len(rows) != 4 {
		t.Fatalf("summary lists %d nodes, want 4:\n%s", len(rows), d.stdout.String())
	}
	seen := map[int]bool{d.cmd.Process.Pid: true}
	for _, r := range rows {
		if seen[r.pid] {
			t.Fatalf("node %s has pid %d, which is not a process of its own", r.name, r.pid)
		}
		seen[r.pid] = true
		if ppid := parentPID(t, r.pid); ppid != d.cmd.Process.Pid {
			t.Fatalf("node %s (pid %d) has parent %d, want the dev process %d", r.name, r.pid, ppid, d.cmd.Process.Pid)
		}
	}

	var view struct {
		Members []struct{ Name, State string }
	}
	getJSONBody(t, rows[0].http+"/v1/mesh", &view)
	alive := map[string]bool{}
	for _, m := range view.Members {
		if m.State == "alive" {
			alive[m.Name] = true
		}
	}
	if len(alive) != 4 {
		t.Fatalf("%s sees %d alive members, want 4: %+v", rows[0].name, len(alive), view.Members)
	}

	// Each node is a process with the whole hard file limit to itself.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got := maxFDs(t, rows[len(rows)-1].http); got != float64(lim.Max) {
		t.Errorf("%s: process_max_fds %v, want the hard limit %d", rows[len(rows)-1].name, got, lim.Max)
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, time.Minute); code != 0 {
		t.Errorf("dev exited %d after SIGTERM, want 0", code)
	}
	for _, r := range rows {
		waitGone(t, r.name, r.pid)
	}
	if !strings.Contains(d.stderr.String(), "node stopped") {
		t.Errorf("no node logged a graceful stop")
	}
}

// TestDevProcessesDieWithTheirParent kills the parent with SIGKILL, which
// it cannot catch, once every node process has started: the kernel must
// take the nodes down with it.
func TestDevProcessesDieWithTheirParent(t *testing.T) {
	d := startDevProcesses(t)
	pids := d.waitStarted(t, 4, 2*time.Minute)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.wait(t, time.Minute)
	for name, pid := range pids {
		waitGone(t, name, pid)
	}
}

// TestDevProcessesReportADeadNode kills one node process: the parent must
// say which node died, stop the others and exit 1.
func TestDevProcessesReportADeadNode(t *testing.T) {
	d := startDevProcesses(t)
	pids := d.waitStarted(t, 4, 2*time.Minute)
	if err := syscall.Kill(pids["tokyo-1"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(t, time.Minute); code != 1 {
		t.Errorf("dev exited %d after a node died, want 1", code)
	}
	if !strings.Contains(d.stderr.String(), "node tokyo-1 (pid "+strconv.Itoa(pids["tokyo-1"])+") exited unexpectedly: signal: killed") {
		t.Errorf("dev did not report the dead node")
	}
	for name, pid := range pids {
		waitGone(t, name, pid)
	}
}

// devProcs is a running `relaymesh dev --processes`.
type devProcs struct {
	cmd            *exec.Cmd
	stdout, stderr *nodetest.SyncBuffer
	exited         chan struct{} // closed after Wait
	err            error         // Wait's result, set before exited is closed
}

func startDevProcesses(t *testing.T) *devProcs {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary and four node processes")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	d := &devProcs{stdout: &nodetest.SyncBuffer{}, stderr: &nodetest.SyncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "dev", "--processes", "--per-region", "1",
		"--http-port", "0", "--mesh-port", "0", "--origin-port", "0")
	// The parent's temp dirs land in the test's, even if it is killed.
	d.cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	// Should the test binary die, the dev process dies too (and its nodes
	// with it).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("dev stdout:\n%s\ndev stderr:\n%s", d.stdout.String(), d.stderr.String())
		}
	})
	return d
}

// waitStdout waits until the parent has printed want.
func (d *devProcs) waitStdout(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	d.waitFor(t, timeout, "stdout to show "+strconv.Quote(want), func() bool { return strings.Contains(d.stdout.String(), want) })
}

var startedRE = regexp.MustCompile(`msg="node process started" node=(\S+) pid=(\d+)`)

// waitStarted waits until the parent has logged n started node processes
// and returns their pids by node name.
func (d *devProcs) waitStarted(t *testing.T, n int, timeout time.Duration) map[string]int {
	t.Helper()
	pids := map[string]int{}
	d.waitFor(t, timeout, fmt.Sprintf("%d node processes to start", n), func() bool {
		for _, m := range startedRE.FindAllStringSubmatch(d.stderr.String(), -1) {
			pids[m[1]], _ = strconv.Atoi(m[2])
		}
		return len(pids) >= n
	})
	return pids
}

func (d *devProcs) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-d.exited:
			if !cond() {
				t.Fatalf("dev exited (%v) while waiting for %s", d.err, what)
			}
		case <-deadline:
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
	}
}

// wait waits for the parent to exit and returns its exit code.
func (d *devProcs) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-d.exited:
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("dev did not exit within %v", timeout)
		return -1
	}
}

type nodeRow struct {
	name, http string
	pid        int
}

// rows parses the node table of the summary: REGION NODE HTTP MESH DEMO PID.
func (d *devProcs) rows(t *testing.T) []nodeRow {
	t.Helper()
	var rows []nodeRow
	sc := bufio.NewScanner(strings.NewReader(d.stdout.String()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || !strings.HasPrefix(f[2], "http://") {
			continue
		}
		pid, err := strconv.Atoi(f[5])
		if err != nil {
			t.Fatalf("bad pid in summary line %q", sc.Text())
		}
		rows = append(rows, nodeRow{name: f[1], http: f[2], pid: pid})
	}
	return rows
}

// parentPID reads the parent of pid from /proc.
func parentPID(t *testing.T, pid int) int {
	t.Helper()
	_, ppid, err := procStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// procStat returns the state and parent of pid from /proc/PID/stat.
func procStat(pid int) (state string, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 2 {
		return "", 0, fmt.Errorf("short /proc/%d/stat: %q", pid, b)
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err
}

// waitGone waits until process pid no longer runs: it has no /proc entry
// or is a zombie (the container's init may be slow to reap an orphan).
func waitGone(t *testing.T, name string, pid int) {
	t.Helper()
	var state string
	gone := nodetest.Poll(30*time.Second, func() bool {
		var err error
		state, _, err = procStat(pid)
		return err != nil || state == "Z"
	})
	if !gone {
		t.Errorf("node %s (pid %d) still runs (state %s): an orphan", name, pid, state)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func getJSONBody(t *testing.T, url string, v any) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

var maxFDsRE = regexp.MustCompile(`(?m)^process_max_fds (\S+)$`)

// maxFDs reads the node's soft open-file limit from its metrics.
func maxFDs(t *testing.T, base string) float64 {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	m := maxFDsRE.FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("%s/metrics has no process_max_fds", base)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
