// Package leaf carries NATS leaf-node connections between relaymesh nodes
// over QUIC streams of kind "leaf".
//
// nats-server dials leaf remotes over TCP and accepts leaf connections on a
// TCP listener; it has no public hook for other transports (nor for an
// in-process connection, as it has for clients). So each node runs two
// small splices:
//
//   - child side: a loopback TCP listener that the node's NATS server uses as
//     its leaf remote. Each connection it accepts is carried on a new QUIC
//     stream to the node's current parent, headed by the node's per-boot
//     leaf secret. When the parent changes, the carried connections are cut
//     and NATS redials, reaching the new parent.
//   - parent side: a handler for leaf streams that reads the header and has
//     the node's NATS server admit one leaf connection (Hub.DialLeaf) for
//     the child the QUIC link's mutual TLS names, with that secret.
//
// Neither listener is a way in for another local process: the forwarder
// carries anything, but the parent admits only a leaf that logs in as the
// child with the child's secret, which only the child's NATS server knows;
// the parent's leaf listener admits only the connections its splice made.
//
// Stream layout (kind leaf), written by the child after the kind byte:
//
//	1 byte   version (1)
//	1 byte   secret length n, 1..255
//	n bytes  the child's leaf secret
//
// and then the NATS leaf protocol, both ways, until either side closes.
package leaf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/mesh/link"
)

// Config configures a Manager.
type Config struct {
	Endpoint *link.Endpoint
	// Listener is the loopback listener the node's NATS server dials as its
	// leaf remote (child side). The Manager owns it from New on. It is made
	// by the caller because the NATS server must know its address before
	// the Manager can know the server's leaf listener.
	Listener net.Listener
	// Secret is the password this node's NATS server presents to its
	// parent (natsd.Server.LeafSecret), sent ahead on every carried
	// connection so that the parent can check the login.
	Secret string
	// Hub is this node's NATS server, where streams from children are
	// spliced to.
	Hub    Hub
	Logger *slog.Logger
	// DialTimeout bounds opening a stream to the parent, and, for a
	// child's stream, reading its header and dialling the local listener.
	// Default 5s.
	DialTimeout time.Duration
}

// Hub admits leaf connections of children (natsd.Server).
type Hub interface {
	// DialLeaf connects to the server's leaf listener for child, whose
	// identity the link verified; the server admits the connection only if
	// the child logs in with secret.
	DialLeaf(ctx context.Context, child, secret string) (net.Conn, error)
}

// Header of a leaf stream.
const (
	headerVersion = 1
	maxSecret     = 255
)

// Parent is the node this node's NATS server should be a leaf of.
type Parent struct {
	Name string
	Addr string // QUIC address
}

// Manager owns both splices.
type Manager struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener

	mu      sync.Mutex
	parent  Parent
	carried map[*splice]struct{} // child-side connections to the parent
	closed  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts the child-side listener and registers the parent-side
// stream handler.
func New(cfg Config) (*Manager, error) {
	if cfg.Endpoint == nil || cfg.Listener == nil || cfg.Hub == nil {
		return nil, errors.New("leaf: Endpoint, Listener and Hub are required")
	}
	if n := len(cfg.Secret); n == 0 || n > maxSecret {
		return nil, fmt.Errorf("leaf: secret of %d bytes, want 1..%d", n, maxSecret)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, ln: cfg.Listener, carried: make(map[*splice]struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	cfg.Endpoint.HandleStream(link.KindLeaf, m.acceptFromChild)
	m.wg.Add(1)
	go m.forwardLoop()
	return m, nil
}

// ForwarderAddr is the loopback address to give the NATS server as its
// leaf remote.
func (m *Manager) ForwarderAddr() string { return m.ln.Addr().String() }

// SetParent switches the parent. Connections carried to a previous parent
// are cut so that NATS reconnects through the new one. An empty Parent
// makes this node a root: NATS's dials are refused until a parent is set.
func (m *Manager) SetParent(p Parent) {
	m.mu.Lock()
	if m.parent == p {
		m.mu.Unlock()
		return
	}
	old := m.parent
	m.parent = p
	cut := make([]*splice, 0, len(m.carried))
	for s := range m.carried {
		cut = append(cut, s)
	}
	m.mu.Unlock()
	m.log.Info("leaf parent changed", "from", old.Name, "to", p.Name)
	for _, s := range cut {
		s.close()
	}
}

// Parent returns the current parent (zero when this node is a root).
func (m *Manager) Parent() Parent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.parent
}

// Close stops both splices and waits for their goroutines.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	cut := make([]*splice, 0, len(m.carried))
	for s := range m.carried {
		cut = append(cut, s)
	}
	m.mu.Unlock()
	m.cancel()
	err := m.ln.Close()
	for _, s := range cut {
		s.close()
	}
	m.wg.Wait()
	return err
}

// forwardLoop accepts the NATS server's leaf dials (child side).
func (m *Manager) forwardLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.wg.Add(1)
		go m.carryToParent(c)
	}
}

func (m *Manager) carryToParent(c net.Conn) {
	defer m.wg.Done()
	p := m.Parent()
	if p.Addr == "" {
		_ = c.Close() // a root has no parent; NATS will retry later
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.DialTimeout)
	st, err := m.cfg.Endpoint.OpenStream(ctx, p.Addr, link.KindLeaf)
	cancel()
	if err == nil {
		hdr := append([]byte{headerVersion, byte(len(m.cfg.Secret))}, m.cfg.Secret...)
		if _, err = st.Write(hdr); err != nil {
			st.Abort()
		}
	}
	if err != nil {
		m.log.Debug("leaf stream to parent failed", "parent", p.Name, "err", err)
		_ = c.Close()
		return
	}
	s := &splice{a: c, b: st}
	m.mu.Lock()
	if m.closed || m.parent != p {
		m.mu.Unlock()
		s.close()
		return
	}
	m.carried[s] = struct{}{}
	m.mu.Unlock()
	s.run()
	m.mu.Lock()
	delete(m.carried, s)
	m.mu.Unlock()
}

// acceptFromChild splices a child's leaf stream to the local NATS server
// (parent side). It runs on a goroutine owned by the endpoint.
func (m *Manager) acceptFromChild(st *link.Stream) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = st.SetReadDeadline(time.Now()) })
	secret, err := readHeader(st)
	if !stop() || err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("leaf: no valid stream header from child", "child", st.PeerName(), "err", err)
		}
		st.Abort()
		return
	}
	_ = st.SetReadDeadline(time.Time{})
	c, err := m.cfg.Hub.DialLeaf(ctx, st.PeerName(), secret)
	if err != nil {
		m.log.Warn("leaf: local NATS leaf listener unreachable", "err", err)
		st.Abort()
		return
	}
	s := &splice{a: c, b: st}
	stopSplice := context.AfterFunc(m.ctx, s.close)
	defer stopSplice()
	s.run()
}

// readHeader reads the child's stream header and returns its secret.
func readHeader(r io.Reader) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", fmt.Errorf("read header: %w", err)
	}
	if h[0] != headerVersion {
		return "", fmt.Errorf("header version %d, want %d", h[0], headerVersion)
	}
	if h[1] == 0 {
		return "", errors.New("empty secret")
	}
	secret := make([]byte, h[1])
	if _, err := io.ReadFull(r, secret); err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return string(secret), nil
}

// splice copies bytes both ways until either side ends, then closes both.
type splice struct {
	a, b net.Conn
	once sync.Once
}

func (s *splice) run() {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		s.close()
		done <- struct{}{}
	}
	go cp(s.a, s.b)
	go cp(s.b, s.a)
	<-done
	<-done
}

// close tears both sides down. QUIC streams are aborted, not closed: a
// copy blocked writing to a peer that died must be released now, not when
// the connection's idle timeout fires.
func (s *splice) close() {
	s.once.Do(func() {
		for _, c := range []net.Conn{s.a, s.b} {
			if st, ok := c.(*link.Stream); ok {
				st.Abort()
			}
			_ = c.Close()
		}
	})
}
