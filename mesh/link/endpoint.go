package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// Config configures an Endpoint. Conn and both TLS configs are required.
type Config struct {
	// Conn is the node's single UDP socket (possibly wrapped for WAN
	// emulation). The Endpoint owns it from New on and closes it on Close.
	Conn net.PacketConn
	// ServerTLS and ClientTLS must enforce mutual TLS with the cluster CA;
	// the endpoint sets NextProtos to ALPN on copies of them.
	ServerTLS *tls.Config
	ClientTLS *tls.Config
	// ResetKey lets a restarted node tell peers at once that their old
	// connections are gone (QUIC stateless reset) instead of leaving them
	// to time out. It must be the same across restarts of a node; nil
	// disables resets.
	ResetKey *quic.StatelessResetKey
	// Logger receives connection-level events. Defaults to slog.Default().
	Logger *slog.Logger
	// DialTimeout bounds one connection attempt, handshake included.
	// Default 5s: a handshake takes 1-2 RTTs (under 0.5 s between the
	// farthest regions), so this leaves room for loss.
	DialTimeout time.Duration
	// KeepAlive is how often an idle connection sends a keep-alive. Default
	// 5s, well under IdleTimeout and typical NAT UDP timeouts (30 s).
	KeepAlive time.Duration
	// IdleTimeout closes a connection that heard nothing for this long.
	// Default 30s; gossip notices a dead peer much sooner on its own.
	IdleTimeout time.Duration
	// PendingDatagrams bounds the datagrams queued per peer while a
	// connection to it is being dialled. Default 64; beyond it datagrams are
	// dropped, as a router would.
	PendingDatagrams int
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 5 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.PendingDatagrams <= 0 {
		c.PendingDatagrams = 64
	}
}

// StreamHandler serves one accepted stream of a kind. It runs in its own
// goroutine owned by the Endpoint and must close the stream when done.
type StreamHandler func(s *Stream)

// DatagramHandler receives one datagram payload of a kind. It runs on the
// connection's receive goroutine and must not block.
type DatagramHandler func(from net.Addr, payload []byte)

// Endpoint is a node's QUIC presence: it listens on the UDP socket, dials
// peers on demand, keeps one connection per peer address, and dispatches
// streams and datagrams by kind.
type Endpoint struct {
	cfg       Config
	log       *slog.Logger
	tr        *quic.Transport
	ln        *quic.Listener
	quicConf  *quic.Config
	clientTLS *tls.Config

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	handlersMu sync.RWMutex
	streams    map[Kind]StreamHandler
	datagrams  map[Kind]DatagramHandler

	mu     sync.Mutex
	peers  map[netip.AddrPort]*peer
	dials  map[netip.AddrPort]*dialCall
	closed bool

	stats counters
}

// New starts listening on cfg.Conn. Register handlers before peers can
// reach the node (right after New); traffic of a kind without a handler is
// refused.
func New(cfg Config) (*Endpoint, error) {
	if cfg.Conn == nil || cfg.ServerTLS == nil || cfg.ClientTLS == nil {
		return nil, errors.New("link: Conn, ServerTLS and ClientTLS are required")
	}
	cfg.setDefaults()
	serverTLS := cfg.ServerTLS.Clone()
	serverTLS.NextProtos = []string{ALPN}
	clientTLS := cfg.ClientTLS.Clone()
	clientTLS.NextProtos = []string{ALPN}

	e := &Endpoint{
		cfg:       cfg,
		log:       cfg.Logger,
		clientTLS: clientTLS,
		quicConf: &quic.Config{
			EnableDatagrams:      true,
			KeepAlivePeriod:      cfg.KeepAlive,
			MaxIdleTimeout:       cfg.IdleTimeout,
			HandshakeIdleTimeout: cfg.DialTimeout,
		},
		streams:   make(map[Kind]StreamHandler),
		datagrams: make(map[Kind]DatagramHandler),
		peers:     make(map[netip.AddrPort]*peer),
		dials:     make(map[netip.AddrPort]*dialCall),
	}
	e.tr = &quic.Transport{Conn: cfg.Conn, StatelessResetKey: cfg.ResetKey}
	ln, err := e.tr.Listen(serverTLS, e.quicConf)
	if err != nil {
		_ = e.tr.Close()
		_ = cfg.Conn.Close()
		return nil, fmt.Errorf("link: listen on %s: %w", cfg.Conn.LocalAddr(), err)
	}
	e.ln = ln
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(1)
	go e.acceptLoop()
	return e, nil
}

// Addr is the local UDP address of the endpoint.
func (e *Endpoint) Addr() net.Addr { return e.cfg.Conn.LocalAddr() }

// HandleStream registers the handler for streams of kind k.
func (e *Endpoint) HandleStream(k Kind, h StreamHandler) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	e.streams[k] = h
}

// HandleDatagram registers the handler for datagrams of kind k.
func (e *Endpoint) HandleDatagram(k Kind, h DatagramHandler) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	e.datagrams[k] = h
}

// Close closes every connection, telling each peer, stops all goroutines
// of the endpoint and closes the UDP socket. It is idempotent.
func (e *Endpoint) Close() error { return e.close(false) }

// Abort is Close without telling peers: the socket closes first, so no
// CONNECTION_CLOSE leaves and peers find out as after a crash (through
// their failure detector, or a stateless reset once the node is back).
func (e *Endpoint) Abort() error { return e.close(true) }

func (e *Endpoint) close(abort bool) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	peers := make([]*peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()

	e.cancel()
	if abort {
		_ = e.cfg.Conn.Close()
	}
	_ = e.ln.Close()
	for _, p := range peers {
		_ = p.conn.CloseWithError(codeShutdown, "shutting down")
	}
	err := e.tr.Close()
	e.wg.Wait()
	if cerr := e.cfg.Conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// Stats is a snapshot of the endpoint's counters.
type Stats struct {
	Peers             int
	Dials             uint64
	DialFailures      uint64
	Accepted          uint64
	DatagramsSent     uint64
	DatagramsReceived uint64
	DatagramsDropped  uint64
	UniFallbacks      uint64
	StreamsOpened     uint64
	StreamsAccepted   uint64
	StreamsRefused    uint64
}

type counters struct {
	dials, dialFailures, accepted                   atomic.Uint64
	datagramsSent, datagramsReceived, datagramsDrop atomic.Uint64
	uniFallbacks                                    atomic.Uint64
	streamsOpened, streamsAccepted, streamsRefused  atomic.Uint64
}

// Stats returns the current counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	n := len(e.peers)
	e.mu.Unlock()
	return Stats{
		Peers:             n,
		Dials:             e.stats.dials.Load(),
		DialFailures:      e.stats.dialFailures.Load(),
		Accepted:          e.stats.accepted.Load(),
		DatagramsSent:     e.stats.datagramsSent.Load(),
		DatagramsReceived: e.stats.datagramsReceived.Load(),
		DatagramsDropped:  e.stats.datagramsDrop.Load(),
		UniFallbacks:      e.stats.uniFallbacks.Load(),
		StreamsOpened:     e.stats.streamsOpened.Load(),
		StreamsAccepted:   e.stats.streamsAccepted.Load(),
		StreamsRefused:    e.stats.streamsRefused.Load(),
	}
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept(e.ctx)
		if err != nil {
			return // listener closed or endpoint shutting down
		}
		e.stats.accepted.Add(1)
		e.addPeer(conn, "accepted")
	}
}

// ParseAddr turns "host:port" with a literal IP into the key the endpoint
// uses for a peer. Host names are resolved (which may block on DNS).
func ParseAddr(addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("link: bad peer address %q: %w", addr, err)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func addrKey(a net.Addr) netip.AddrPort {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
