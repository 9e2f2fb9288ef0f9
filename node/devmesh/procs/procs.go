// Package procs runs a dev mesh with every node in an OS process of its
// own, so that each node has its own open-file limit (100,000 fans do not
// fit under one process's 20,000). It is what `relaymesh dev --processes`
// runs.
//
// The parent process keeps what the nodes share (devmesh.Base: the origin,
// the demo stream, the origin proxies, the cluster CA) and starts each node
// as `relaymesh node --config FILE`, the path ops run, with a generated
// config and certificate in a temp dir. WAN emulation is the node's own
// mesh.wan_emulation: every process delays its outgoing packets by the
// regions model, learning its peers' regions from gossip metadata, exactly
// as the nodes of an in-process mesh do.
//
// Supervision: children's output goes to Options.Output line by line,
// prefixed with the node's name; Shutdown sends SIGTERM to every child (a
// graceful stop: each leaves the gossip), waits until its context ends,
// then kills the stragglers. A child that exits before Shutdown is not
// restarted: Died reports it and the caller stops the mesh. On Linux the
// children are killed if the parent dies (see procattr_linux.go), so a
// killed parent leaves no orphans.
package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/devmesh"
)

// Options configures a mesh of node processes. Every devmesh option
// applies; Tune adjusts each generated config before it is written.
type Options struct {
	devmesh.Options
	// Binary is the relaymesh executable each node runs as
	// `Binary node --config FILE` (relaymesh dev passes os.Executable()).
	Binary string
	// ProfileDir, if set, makes each node write a CPU profile of itself
	// to ProfileDir/NAME.cpu.prof until it stops.
	ProfileDir string
	// LogLevel is each node's log.level. Default "info".
	LogLevel string
	// Output receives every node's stdout and stderr, each line prefixed
	// with the node's name. Default os.Stderr.
	Output io.Writer
	// ReadyTimeout bounds Start's wait for every node to be ready and to
	// see every other alive. Default 2 minutes: eight nodes that each
	// start an embedded NATS server with JetStream on a busy 2-core box
	// take tens of seconds, and a mesh that is not whole by then is broken.
	ReadyTimeout time.Duration
}

// Mesh is a running mesh of node processes.
type Mesh struct {
	*devmesh.Base
	opts     Options
	dir      string // generated configs and certificates; removed by Shutdown
	children []*child

	stopping atomic.Bool // set by Shutdown: exits from then on are expected
	died     chan struct{}
	diedOnce sync.Once
	diedErr  error // set before died is closed

	once    sync.Once
	stopErr error
}

// Start starts the shared parts, then the first node (it founds the
// cluster), then the others at once, each seeded with the nodes before it,
// and returns once every node is ready and sees every node alive. ctx
// bounds the start; on error or cancellation everything started is
// stopped again.
func Start(ctx context.Context, opts Options) (m *Mesh, err error) {
	if opts.Binary == "" {
		return nil, errors.New("procs: no relaymesh binary to run the nodes")
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	b, err := devmesh.StartBase(opts.Options)
	if err != nil {
		return nil, err
	}
	m = &Mesh{Base: b, opts: opts, died: make(chan struct{})}
	defer func() {
		if err != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = m.Shutdown(stopCtx)
			m = nil
		}
	}()
	if m.dir, err = os.MkdirTemp("", "relaymesh-dev-procs-"); err != nil {
		return m, fmt.Errorf("procs: %w", err)
	}
	if err := m.prepare(); err != nil {
		return m, err
	}
	if len(m.children) == 0 {
		return m, errors.New("procs: no nodes: Options.Regions names no known region")
	}

	ctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	if err := m.startChild(m.children[0]); err != nil {
		return m, err
	}
	if err := m.waitReady(ctx, m.children[:1]); err != nil {
		return m, err
	}
	for _, c := range m.children[1:] {
		if err := m.startChild(c); err != nil {
			return m, err
		}
	}
	if err := m.waitReady(ctx, m.children); err != nil {
		return m, err
	}
	return m, nil
}

func (m *Mesh) startChild(c *child) error {
	if err := c.start(m.exited); err != nil {
		return err
	}
	m.Options().Logger.Info("node process started", "node", c.name, "pid", c.pid, "http", c.http, "mesh", c.mesh)
	return nil
}

// prepare writes each node's certificate and config and builds (but does
// not start) its process.
func (m *Mesh) prepare() error {
	caFile := filepath.Join(m.dir, pki.CACertFile)
	if err := os.WriteFile(caFile, m.CA().CertPEM, 0o644); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	o := m.Options()
	slots := m.Slots()
	httpAddrs, err := listenAddrs("tcp", o.Host, o.HTTPPort, len(slots))
	if err != nil {
		return err
	}
	meshAddrs, err := listenAddrs("udp", o.Host, o.MeshPort, len(slots))
	if err != nil {
		return err
	}
	var out sync.Mutex // one line at a time on Output, whichever node wrote it
	for i, s := range slots {
		cfg := m.NodeConfig(s, i, meshAddrs[:i])
		cfg.HTTP.Listen, cfg.Mesh.Listen = httpAddrs[i], meshAddrs[i]
		cfg.Log.Level = m.opts.LogLevel
		path, err := m.writeNode(cfg, caFile)
		if err != nil {
			return err
		}
		m.children = append(m.children, newChild(cfg, m.opts.Binary, path, m.opts.ProfileDir, &lineWriter{mu: &out, w: m.opts.Output, prefix: cfg.Node.Name + " | "}))
	}
	return nil
}

// writeNode writes the node's certificate and key, then its config naming
// them, and returns the config's path.
func (m *Mesh) writeNode(cfg config.Config, caFile string) (string, error) {
	name := cfg.Node.Name
	certPEM, keyPEM, err := m.CA().IssueNode(name, []string{m.Options().Host}, 30*24*time.Hour)
	if err == nil {
		err = pki.WriteNodeFiles(m.dir, name, certPEM, keyPEM)
	}
	if err != nil {
		return "", fmt.Errorf("procs: %w", err)
	}
	cfg.TLS = config.TLS{
		CAFile:   caFile,
		CertFile: filepath.Join(m.dir, name+".pem"),
		KeyFile:  filepath.Join(m.dir, name+"-key.pem"),
	}
	data, err := encodeConfig(cfg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(m.dir, name+".yaml")
	// 0600: the file holds the stream keys and the origin's secret.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("procs: %w", err)
	}
	return path, nil
}

// encodeConfig writes cfg as a config file that config.Load reads back
// as cfg: every field, defaults included, so the file says all the node
// runs with.
func encodeConfig(cfg config.Config) ([]byte, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("procs: config of %s: %w", cfg.Node.Name, err)
	}
	return data, nil
}

// listenAddrs gives n host:port addresses counting up from base, or, with
// base 0, n ports that the kernel reports free now. The nodes bind them a
// moment later, so another program could take one in between; for a dev
// mesh on loopback that is acceptable, and the node that loses fails to
// start with "address already in use" (Died reports it).
func listenAddrs(network, host string, base, n int) ([]string, error) {
	addrs := make([]string, n)
	if base != 0 {
		for i := range addrs {
			addrs[i] = net.JoinHostPort(host, strconv.Itoa(base+i))
		}
		return addrs, nil
	}
	var closers []io.Closer // all held open until the last is picked, so the ports differ
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for i := range addrs {
		var addr net.Addr
		if network == "udp" {
			pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
			if err != nil {
				return nil, fmt.Errorf("procs: pick a free udp port: %w", err)
			}
			closers, addr = append(closers, pc), pc.LocalAddr()
		} else {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return nil, fmt.Errorf("procs: pick a free tcp port: %w", err)
			}
			closers, addr = append(closers, ln), ln.Addr()
		}
		_, port, _ := net.SplitHostPort(addr.String())
		addrs[i] = net.JoinHostPort(host, port)
	}
	return addrs, nil
}

// exited is called by each child's goroutine when its process has exited.
func (m *Mesh) exited(c *child) {
	if m.stopping.Load() {
		return
	}
	m.diedOnce.Do(func() {
		m.diedErr = fmt.Errorf("procs: node %s (pid %d) exited unexpectedly: %s", c.name, c.pid, describeExit(c.err))
		close(m.died)
	})
}

// Died is closed when a node process exits before Shutdown; Err then says
// which and how.
func (m *Mesh) Died() <-chan struct{} { return m.died }

// Err describes the node process that exited unexpectedly, or is nil.
func (m *Mesh) Err() error {
	select {
	case <-m.died:
		return m.diedErr
	default:
		return nil
	}
}

// Shutdown stops every node process gracefully (SIGTERM, in parallel, as a
// fleet is stopped), kills the ones still running when ctx ends, waits for
// all of them, then closes the base and removes the generated files. It
// reports every node that did not exit cleanly. Shutdown is idempotent.
func (m *Mesh) Shutdown(ctx context.Context) error {
	m.once.Do(func() {
		m.stopping.Store(true)
		var started []*child
		for _, c := range m.children {
			if c.started() {
				started = append(started, c)
				c.terminate()
			}
		}
		var errs []error
		for _, c := range started {
			select {
			case <-c.done:
			case <-ctx.Done():
			}
		}
		for _, c := range started {
			select {
			case <-c.done:
				if c.err != nil {
					errs = append(errs, fmt.Errorf("procs: node %s (pid %d): %s", c.name, c.pid, describeExit(c.err)))
				}
			default:
				c.kill()
				<-c.done
				errs = append(errs, fmt.Errorf("procs: node %s (pid %d) did not stop in time: killed", c.name, c.pid))
			}
		}
		// The nodes are gone, so the origin has nothing in flight: close it
		// with a deadline of its own even if ctx has ended.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		errs = append(errs, m.Base.Close(closeCtx))
		if m.dir != "" {
			errs = append(errs, os.RemoveAll(m.dir))
		}
		m.stopErr = errors.Join(errs...)
	})
	return m.stopErr
}

// Rows describes the nodes for the summary, PIDs included.
func (m *Mesh) Rows() []devmesh.Row {
	rows := make([]devmesh.Row, len(m.children))
	for i, c := range m.children {
		rows[i] = devmesh.Row{Region: c.region, Name: c.name, HTTPAddr: c.http, MeshAddr: c.mesh, PID: c.pid}
	}
	return rows
}

// PrintSummary writes what a person needs to use the mesh, and where the
// nodes' files are.
func (m *Mesh) PrintSummary(w io.Writer) {
	m.WriteSummary(w, m.Rows())
	fmt.Fprintf(w, "node processes: configs and certificates in %s; their logs here, prefixed by node name\n", m.dir)
}
