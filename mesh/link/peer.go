package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/quic-go/quic-go"
)

// peer is one live QUIC connection and the goroutines that serve it.
type peer struct {
	conn *quic.Conn
	key  netip.AddrPort
	name string // verified CN of the peer's certificate
	log  *slog.Logger
}

// dialCall is one in-flight dial to a peer address. Datagrams sent while
// it runs wait in pending and are flushed when the connection is up.
type dialCall struct {
	done    chan struct{}
	conn    *quic.Conn
	err     error
	pending [][]byte
}

// addPeer registers conn as the connection for its remote address and
// starts serving it. A newer connection to the same address replaces the
// older one for sending (after a restart the old one is dead anyway); the
// old one keeps serving until it closes.
func (e *Endpoint) addPeer(conn *quic.Conn, how string) *peer {
	key := addrKey(conn.RemoteAddr())
	p := &peer{conn: conn, key: key, name: peerName(conn)}
	p.log = e.log.With("peer", key.String(), "peer_name", p.name)

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = conn.CloseWithError(codeShutdown, "shutting down")
		return nil
	}
	e.peers[key] = p
	e.wg.Add(3)
	e.mu.Unlock()

	p.log.Debug("link up", "how", how)
	go e.serveStreams(p)
	go e.serveUniStreams(p)
	go e.serveDatagrams(p)
	return p
}

// PeerNameAt is the verified certificate name of the peer this endpoint
// holds a connection to at addr (host:port), if it holds one. A peer's
// source address is its mesh address (one socket listens and dials), so
// this is the identity behind the address that gossip names. addr must be
// a literal IP and port: PeerNameAt never resolves names, so it is safe
// to call under other locks.
func (e *Endpoint) PeerNameAt(addr string) (string, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.peers[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())]
	if !ok {
		return "", false
	}
	return p.name, true
}

func peerName(conn *quic.Conn) string {
	certs := conn.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 {
		return ""
	}
	return certs[0].Subject.CommonName
}

// dropPeer forgets p once its connection has closed, unless a newer
// connection already took its place.
func (e *Endpoint) dropPeer(p *peer) {
	e.mu.Lock()
	if e.peers[p.key] == p {
		delete(e.peers, p.key)
	}
	e.mu.Unlock()
}

func (e *Endpoint) serveStreams(p *peer) {
	defer e.wg.Done()
	defer e.dropPeer(p)
	for {
		s, err := p.conn.AcceptStream(e.ctx)
		if err != nil {
			p.log.Debug("link down", "err", err)
			return
		}
		e.wg.Add(1)
		go e.dispatchStream(p, s)
	}
}

// dispatchStream reads the kind byte and hands the stream to its handler.
func (e *Endpoint) dispatchStream(p *peer, s *quic.Stream) {
	defer e.wg.Done()
	_ = s.SetReadDeadline(time.Now().Add(e.cfg.DialTimeout))
	var kind [1]byte
	if _, err := io.ReadFull(s, kind[:]); err != nil {
		s.CancelRead(codeNone)
		s.CancelWrite(codeNone)
		return
	}
	_ = s.SetReadDeadline(time.Time{})
	e.handlersMu.RLock()
	h := e.streams[Kind(kind[0])]
	e.handlersMu.RUnlock()
	if h == nil {
		e.stats.streamsRefused.Add(1)
		p.log.Warn("refused stream of unknown kind", "kind", kind[0])
		s.CancelRead(codeUnknownKind)
		s.CancelWrite(codeUnknownKind)
		return
	}
	e.stats.streamsAccepted.Add(1)
	h(&Stream{Stream: s, conn: p.conn, kind: Kind(kind[0]), peer: p.name})
}

func (e *Endpoint) serveUniStreams(p *peer) {
	defer e.wg.Done()
	for {
		s, err := p.conn.AcceptUniStream(e.ctx)
		if err != nil {
			return
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			_ = s.SetReadDeadline(time.Now().Add(e.cfg.DialTimeout))
			buf, err := io.ReadAll(io.LimitReader(s, maxUniPayload+2))
			if err != nil || len(buf) > maxUniPayload+1 {
				s.CancelRead(codeNone)
				e.stats.datagramsDrop.Add(1)
				return
			}
			e.deliverDatagram(p, buf)
		}()
	}
}

func (e *Endpoint) serveDatagrams(p *peer) {
	defer e.wg.Done()
	for {
		buf, err := p.conn.ReceiveDatagram(e.ctx)
		if err != nil {
			return
		}
		e.deliverDatagram(p, buf)
	}
}

func (e *Endpoint) deliverDatagram(p *peer, buf []byte) {
	if len(buf) < 1 {
		e.stats.datagramsDrop.Add(1)
		return
	}
	e.handlersMu.RLock()
	h := e.datagrams[Kind(buf[0])]
	e.handlersMu.RUnlock()
	if h == nil {
		e.stats.datagramsDrop.Add(1)
		return
	}
	e.stats.datagramsReceived.Add(1)
	h(p.conn.RemoteAddr(), buf[1:])
}

// connTo returns the live connection to addr, dialling if there is none.
// Concurrent callers share one dial.
func (e *Endpoint) connTo(ctx context.Context, key netip.AddrPort) (*quic.Conn, error) {
	d, conn, err := e.startDial(key, nil)
	if conn != nil || err != nil {
		return conn, err
	}
	select {
	case <-d.done:
		return d.conn, d.err
	case <-ctx.Done():
		return nil, fmt.Errorf("link: dial %s: %w", key, ctx.Err())
	}
}

// startDial returns the live connection to key if there is one; otherwise
// it joins or starts a dial and, if datagram is not nil, queues it there.
func (e *Endpoint) startDial(key netip.AddrPort, datagram []byte) (*dialCall, *quic.Conn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, net.ErrClosed
	}
	if p := e.peers[key]; p != nil && p.conn.Context().Err() == nil {
		return nil, p.conn, nil
	}
	d := e.dials[key]
	if d == nil {
		d = &dialCall{done: make(chan struct{})}
		e.dials[key] = d
		e.wg.Add(1)
		go e.runDial(key, d)
	}
	if datagram != nil {
		if len(d.pending) < e.cfg.PendingDatagrams {
			d.pending = append(d.pending, datagram)
		} else {
			e.stats.datagramsDrop.Add(1)
		}
	}
	return d, nil, nil
}

func (e *Endpoint) runDial(key netip.AddrPort, d *dialCall) {
	defer e.wg.Done()
	e.stats.dials.Add(1)
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.DialTimeout)
	conn, err := e.tr.Dial(ctx, net.UDPAddrFromAddrPort(key), e.clientTLS, e.quicConf)
	cancel()
	var p *peer
	if err == nil {
		p = e.addPeer(conn, "dialled")
		if p == nil {
			err = net.ErrClosed
		}
	}
	if err != nil {
		e.stats.dialFailures.Add(1)
		e.log.Debug("dial failed", "peer", key.String(), "err", err)
		err = fmt.Errorf("link: dial %s: %w", key, err)
	}

	e.mu.Lock()
	delete(e.dials, key)
	pending := d.pending
	d.pending = nil
	d.err = err
	if err == nil {
		d.conn = conn
	}
	e.mu.Unlock()
	close(d.done)

	if err != nil {
		e.stats.datagramsDrop.Add(uint64(len(pending)))
		return
	}
	for _, buf := range pending {
		e.sendOn(conn, buf)
	}
}

// SendDatagram sends payload to the peer at addr, unreliably, like a UDP
// packet. It never blocks on the network: without a connection it queues
// the datagram behind a dial. A payload too large for a QUIC datagram goes
// on a unidirectional stream instead.
func (e *Endpoint) SendDatagram(addr string, k Kind, payload []byte) error {
	key, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 1+len(payload))
	buf[0] = byte(k)
	copy(buf[1:], payload)
	_, conn, err := e.startDial(key, buf)
	if err != nil {
		return err
	}
	if conn != nil {
		e.sendOn(conn, buf)
	}
	return nil
}

func (e *Endpoint) sendOn(conn *quic.Conn, buf []byte) {
	err := conn.SendDatagram(buf)
	var tooLarge *quic.DatagramTooLargeError
	switch {
	case err == nil:
		e.stats.datagramsSent.Add(1)
	case errors.As(err, &tooLarge) && len(buf) <= maxUniPayload+1:
		e.stats.uniFallbacks.Add(1)
		e.wg.Add(1)
		go e.sendUni(conn, buf)
	default:
		e.stats.datagramsDrop.Add(1)
	}
}

func (e *Endpoint) sendUni(conn *quic.Conn, buf []byte) {
	defer e.wg.Done()
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.DialTimeout)
	defer cancel()
	s, err := conn.OpenUniStreamSync(ctx)
	if err != nil {
		e.stats.datagramsDrop.Add(1)
		return
	}
	_ = s.SetWriteDeadline(time.Now().Add(e.cfg.DialTimeout))
	if _, err := s.Write(buf); err != nil {
		s.CancelWrite(codeNone)
		e.stats.datagramsDrop.Add(1)
		return
	}
	_ = s.Close()
	e.stats.datagramsSent.Add(1)
}

// OpenStream opens a reliable stream of kind k to the peer at addr,
// dialling if needed. The caller owns the stream and must Close it.
func (e *Endpoint) OpenStream(ctx context.Context, addr string, k Kind) (*Stream, error) {
	key, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	conn, err := e.connTo(ctx, key)
	if err != nil {
		return nil, err
	}
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("link: open %s stream to %s: %w", k, key, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(deadline)
	}
	if _, err := s.Write([]byte{byte(k)}); err != nil {
		s.CancelRead(codeNone)
		s.CancelWrite(codeNone)
		return nil, fmt.Errorf("link: open %s stream to %s: %w", k, key, err)
	}
	_ = s.SetWriteDeadline(time.Time{})
	e.stats.streamsOpened.Add(1)
	return &Stream{Stream: s, conn: conn, kind: k, peer: peerName(conn)}, nil
}

// Stream is a reliable bidirectional stream to a peer. It implements
// net.Conn so that libraries written for TCP (memberlist, NATS) can use it.
type Stream struct {
	*quic.Stream
	conn *quic.Conn
	kind Kind
	peer string
}

var _ net.Conn = (*Stream)(nil)

// LocalAddr is the local UDP address of the connection.
func (s *Stream) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// RemoteAddr is the peer's UDP address.
func (s *Stream) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// Kind is the stream's kind.
func (s *Stream) Kind() Kind { return s.kind }

// PeerName is the verified common name of the peer's certificate.
func (s *Stream) PeerName() string { return s.peer }

// Close closes both directions, as closing a TCP connection does: a QUIC
// stream's Close alone only ends the sending side.
func (s *Stream) Close() error {
	s.Stream.CancelRead(codeNone)
	return s.Stream.Close()
}

// Abort resets both directions at once: unlike Close, it also unblocks a
// Write that waits for flow-control credit from a peer that stopped
// reading (or died), and discards unsent data.
func (s *Stream) Abort() {
	s.Stream.CancelWrite(codeNone)
	s.Stream.CancelRead(codeNone)
}
