package natsd

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// Who may talk to the embedded server. One authenticator (nats-server's
// CustomClientAuthentication) decides for client and accepted leaf
// connections alike, and no credential is fixed or written anywhere:
//
//   - the node's own in-process connection presents a password drawn at
//     boot (crypto/rand);
//   - backend services on the optional client port present the configured
//     user and password;
//   - a leaf connection is admitted only if the node's leaf splice opened
//     it (DialLeaf) for a child whose certificate the QUIC link verified,
//     and only if its CONNECT names that child and presents the secret the
//     child sent ahead on its QUIC stream. The splice's socket is known by
//     its local address, which no other process can hold while it is open.
//     A process that dials the loopback leaf listener itself is refused,
//     and so is one that rides a node's forwarder to its parent (mesh/leaf)
//     without that node's per-boot secret.
//
// nats-server offers no way to hand it a leaf connection in-process (its
// leaf accept and dial paths are TCP only and unexported), so the
// listeners stay on loopback TCP and this check is what guards them.
type authenticator struct {
	nodeUser, nodePass string // the node's in-process connection
	user, pass         string // backend services, when the client port is on

	mu       sync.Mutex
	admitted map[string]admission // by the splice socket's local address
}

// admission is a leaf connection the splice vouches for.
type admission struct{ child, secret string }

const nodeUser = "relaymesh-node"

func newAuthenticator(user, pass string) *authenticator {
	return &authenticator{
		nodeUser: nodeUser, nodePass: newSecret(),
		user: user, pass: pass,
		admitted: make(map[string]admission),
	}
}

// Check implements server.Authentication.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	switch c.Kind() {
	case server.CLIENT:
		if same(o.Username, a.nodeUser) && same(o.Password, a.nodePass) {
			return true
		}
		return a.user != "" && same(o.Username, a.user) && same(o.Password, a.pass)
	case server.LEAF:
		addr := c.RemoteAddress()
		if addr == nil {
			return false
		}
		a.mu.Lock()
		ad, ok := a.admitted[addr.String()]
		a.mu.Unlock()
		if !ok || !same(o.Username, ad.child) || !same(o.Password, ad.secret) {
			return false
		}
		c.RegisterUser(&server.User{Username: ad.child, Permissions: leafPermissions(ad.child)})
		return true
	}
	return false
}

func same(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// DialLeaf connects to the server's leaf listener on behalf of child, a
// node whose identity the caller has verified (mesh/leaf: the QUIC link's
// certificate). The server admits the connection only if the child's
// CONNECT names child and presents secret; the admission ends when the
// returned connection is closed.
func (s *Server) DialLeaf(ctx context.Context, child, secret string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.LeafAddr())
	if err != nil {
		return nil, fmt.Errorf("natsd: dial leaf listener: %w", err)
	}
	// Registered before the caller splices the child's bytes in, so before
	// the server can see the child's CONNECT.
	key := c.LocalAddr().String()
	s.auth.mu.Lock()
	s.auth.admitted[key] = admission{child: child, secret: secret}
	s.auth.mu.Unlock()
	return &admittedConn{Conn: c, release: func() {
		s.auth.mu.Lock()
		delete(s.auth.admitted, key)
		s.auth.mu.Unlock()
	}}, nil
}

// admittedConn ends its admission when it is closed.
type admittedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *admittedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
