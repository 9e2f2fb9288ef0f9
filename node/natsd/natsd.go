// Package natsd runs the node's embedded NATS server (the real
// nats-server, in-process) with JetStream, and the node's in-process client
// connection to it. Other nodes' servers join it as NATS leaf nodes through
// mesh/leaf, which carries leaf connections over QUIC.
package natsd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures the embedded server.
type Config struct {
	// Name is the server name and its JetStream domain. Every node has a
	// domain of its own so that the JetStream APIs of the nodes stay apart
	// across leaf connections ($JS.<name>.API) and streams can source from
	// each other by domain.
	Name string
	// DataDir holds the JetStream store (DataDir/jetstream).
	DataDir string
	// LeafRemote, if set, is host:port this server solicits its leaf
	// connection to: the local end of mesh/leaf's forwarder, which carries
	// it to the node's current parent. The server logs in there as Name
	// with LeafSecret.
	LeafRemote string
	// ClientListen, if set, opens a NATS client port for backend services
	// (bots, overlays), protected by User and Password. Backend users have
	// the node's full rights in its account; leaf children do not (see
	// leafperms.go).
	ClientListen   string
	User, Password string
	Logger         *slog.Logger
}

// Server is the running embedded NATS server and the node's connection.
type Server struct {
	storeDir   string // as given to the server, for RestartJetStream
	domain     string
	ns         *server.Server
	leafPort   int
	leafSecret string
	auth       *authenticator
	nc         *nats.Conn
	js         jetstream.JetStream
}

// leafReconnect is how soon a leaf connection is retried after it drops.
// mesh/leaf drops it on purpose when the node's parent changes, so short
// means chat resumes quickly after the tree re-forms.
const leafReconnect = 250 * time.Millisecond

// newSecret is a per-boot secret: 128 bits from crypto/rand, URL-safe.
func newSecret() string { return rand.Text() }

// Start starts the server and connects to it in-process.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	auth := newAuthenticator(cfg.User, cfg.Password)
	o := &server.Options{
		ServerName:      cfg.Name,
		JetStream:       true,
		JetStreamDomain: cfg.Name,
		StoreDir:        filepath.Join(cfg.DataDir, "jetstream"),
		DontListen:      true, // no client port unless configured below
		NoSigs:          true, // the node owns signals
		NoSystemAccount: false,
		// Clients and accepted leaf connections alike (auth.go). The leaf
		// options carry no credentials, so nats-server hands leaf
		// connections to this check too.
		CustomClientAuthentication: auth,
	}
	if cfg.ClientListen != "" {
		host, port, err := splitHostPort(cfg.ClientListen)
		if err != nil {
			return nil, fmt.Errorf("natsd: client listen: %w", err)
		}
		o.DontListen, o.Host, o.Port = false, host, port
	}
	// The leaf listener is on loopback only: peers reach it through QUIC
	// streams of kind "leaf" that mesh/leaf splices to it (DialLeaf).
	o.LeafNode.Host = "127.0.0.1"
	o.LeafNode.Port = -1
	o.LeafNode.ReconnectInterval = leafReconnect
	// Do not tell leaves about our leaf listener: they would learn a
	// loopback URL and, after losing us, dial it directly instead of going
	// through their forwarder (on one host that would even reach another
	// node's server, bypassing QUIC and the tree).
	o.LeafNode.NoAdvertise = true
	// Leaf links compress with S2's fast mode, whatever their round trip.
	// The server's default (s2_auto) picks s2_best on links of 100 ms and
	// more, every WAN link here, and on chat's small frames that cost 7 %
	// of a node's CPU in the 100,000-fan run for little gain over fast
	// (docs/chat-design.md).
	leafCompression := server.CompressionOpts{Mode: server.CompressionS2Fast}
	o.LeafNode.Compression = leafCompression
	// The leaf remote logs in to the parent as this node, with a secret
	// drawn at boot that mesh/leaf sends ahead on each QUIC stream, so
	// that the parent can tell this node's NATS server from any other
	// process that dials the forwarder.
	leafSecret := newSecret()
	if cfg.LeafRemote != "" {
		u, err := url.Parse("nats-leaf://" + cfg.LeafRemote)
		if err != nil {
			return nil, fmt.Errorf("natsd: leaf remote: %w", err)
		}
		u.User = url.UserPassword(cfg.Name, leafSecret)
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: []*url.URL{u}, Compression: leafCompression}}
	}
	ns, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natsd: %w", err)
	}
	ns.SetLoggerV2(&logAdapter{l: cfg.Logger}, true, false, false)
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("natsd: server not ready within 10s")
	}
	copts := []nats.Option{nats.InProcessServer(ns), nats.Name(cfg.Name + "-node"),
		nats.MaxReconnects(-1), nats.ReconnectBufSize(-1),
		nats.UserInfo(auth.nodeUser, auth.nodePass)}
	nc, err := nats.Connect("", copts...)
	if err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsd: in-process connection: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsd: %w", err)
	}
	// With port -1 the server writes the port it bound back into o before
	// it reports ready (ReadyForConnections waits for the leaf listener).
	return &Server{ns: ns, leafPort: o.LeafNode.Port, leafSecret: leafSecret, auth: auth, nc: nc, js: js,
		storeDir: o.StoreDir, domain: cfg.Name}, nil
}

func splitHostPort(hp string) (string, int, error) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, err
	}
	return host, p, nil
}

// LeafSecret is the per-boot secret this server's leaf remote presents to
// the parent; mesh/leaf sends it ahead of each carried connection.
func (s *Server) LeafSecret() string { return s.leafSecret }

// LeafAddr is the loopback address of the server's leaf listener. Only
// connections made by DialLeaf are admitted there.
func (s *Server) LeafAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.leafPort))
}

// ClientAddr is host:port of the NATS client port for backend services,
// or "" when it is off.
func (s *Server) ClientAddr() string {
	if a := s.ns.Addr(); a != nil {
		return a.String()
	}
	return ""
}

// Conn is the node's in-process client connection.
func (s *Server) Conn() *nats.Conn { return s.nc }

// JetStream is the node's JetStream context.
func (s *Server) JetStream() jetstream.JetStream { return s.js }

// LeafCount is the number of leaf connections (parent and children).
func (s *Server) LeafCount() int { return s.ns.NumLeafNodes() }

// Shutdown drains the node's connection and stops the server; ctx bounds
// the drain (past it the connection is closed, dropping what it still holds).
func (s *Server) Shutdown(ctx context.Context) {
	if s == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.nc.Drain()
		for !s.nc.IsClosed() {
			select {
			case <-ctx.Done():
				s.nc.Close()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.nc.Close()
		<-done
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// logAdapter sends nats-server's log lines to slog. NATS notices are
// chatty startup detail, so they go to debug; leaf reconnect errors are
// expected while the tree re-forms, so errors go to warn.
type logAdapter struct{ l *slog.Logger }

func (a *logAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Errorf(format string, v ...any)  { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Tracef(string, ...any)           {}

// UpstreamGoroutines names goroutines that nats-server's stream sourcing
// starts and does not stop on Shutdown: they wait up to 30 s for a peer to
// answer a source consumer's creation, or 10 s for its deletion, and then
// end by themselves. Leak checks in tests ignore them (by top function);
// everything the node itself starts is stopped.
var UpstreamGoroutines = []string{
	"github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3",
	"github.com/nats-io/nats-server/v2/server.(*stream).tryDeleteSourcingConsumer.func1",
}

// RestartJetStream stops JetStream and starts it again from its store, as
// a process restart would, but without dropping fans or the mesh. A stream
// that hit a write error (EMFILE, a full disk) refuses every later write
// until it is reloaded, and JetStream disables itself when the disk fills:
// the chat service calls this when its store keeps failing. What was
// stored before is kept.
func (s *Server) RestartJetStream() error {
	if s.ns.JetStreamEnabled() {
		if err := s.ns.ShutdownJetStream(); err != nil {
			return fmt.Errorf("natsd: stop JetStream: %w", err)
		}
	}
	if err := s.ns.EnableJetStream(&server.JetStreamConfig{StoreDir: s.storeDir, Domain: s.domain}); err != nil {
		return fmt.Errorf("natsd: restart JetStream: %w", err)
	}
	return nil
}

// StopJetStreamForTest turns JetStream off the way a critical store error
// does, so that tests can break the chat store on purpose.
func (s *Server) StopJetStreamForTest() error { return s.ns.ShutdownJetStream() }
