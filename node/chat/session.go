package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// fanSocketBuffer caps the kernel's send buffer per fan. Chat frames are
// small; a bigger buffer only lets a fan that stopped reading pin more
// kernel memory (500 such fans once held 413 MB) before it is cut off.
const fanSocketBuffer = 64 << 10

// session is one fan's WebSocket connection. At rest it is this struct,
// its since marks, a socket and one goroutine blocked reading; writes are
// made by whoever delivers (see fanConn).
type session struct {
	svc  *Service
	conn *fanConn
	room string
	ip   string
	who  Identity

	// since is what the fan has been sent, per origin; the room advances
	// it under its lock and skips what the fan already has, which is what
	// makes a resumed connection free of duplicates.
	since wire.Since

	pingSlot uint32 // which of the ping interval's slots pings this fan (runPings)

	failOnce sync.Once
	failCode ws.StatusCode // why the node cut the fan off, once it did
}

// handleWS upgrades GET /v1/chat/ws?room=R[&since=IDS] and serves the fan
// until it leaves or the node shuts down.
func (svc *Service) handleWS(w http.ResponseWriter, r *http.Request) {
	join, jerr := wire.ParseJoin(r.URL.Query())
	if jerr != nil {
		writeJSONError(w, http.StatusBadRequest, jerr)
		return
	}
	who, err := svc.cfg.Auth.Identify(r)
	if err != nil {
		writeJSONError(w, http.StatusUnauthorized, &wire.Error{Code: wire.CodeNotAllowed, Message: err.Error()})
		return
	}
	if !svc.admit() {
		writeJSONError(w, http.StatusServiceUnavailable, &wire.Error{Code: wire.CodeInternal, Message: "node is shutting down"})
		return
	}
	// Fan pages are served from the platform's own origin, not ours, so
	// any Origin is accepted; no compression (frames are short and shared
	// by every fan, compressing per connection would undo that).
	nc, rw, _, err := (&ws.HTTPUpgrader{Timeout: 10 * time.Second}).Upgrade(r, w)
	if err != nil {
		if nc != nil {
			_ = nc.Close()
		}
		svc.sessions.Done()
		return // the upgrader has answered the client
	}
	var buffered []byte
	if n := rw.Reader.Buffered(); n > 0 {
		buffered, _ = rw.Reader.Peek(n)
		buffered = append([]byte(nil), buffered...)
	}
	if tc, ok := nc.(interface{ SetWriteBuffer(int) error }); ok { // *net.TCPConn, or the node's limited listener's conn
		_ = tc.SetWriteBuffer(fanSocketBuffer)
	}
	_ = nc.SetDeadline(time.Time{}) // the HTTP server's deadlines do not apply to a fan
	s := &session{
		svc: svc, room: join.Room, ip: clientIP(r), who: who, since: join.Since,
		pingSlot: svc.nextPingSlot.Add(1) % pingSlots,
		conn:     newFanConn(nc, buffered, svc.cfg.MaxPendingBytes, svc.cfg.DrainTimeout),
	}
	svc.metrics.fans.Add(1)
	// The fan gets a goroutine of its own and the handler returns: the HTTP
	// server's goroutine would keep its connection's buffers, the response
	// and its grown stack alive (about 15 KB a fan) for as long as the fan
	// stays. The service owns the goroutine (sessions; Close waits).
	go func() {
		defer svc.sessions.Done()
		defer svc.metrics.fans.Add(-1)
		s.serve()
	}()
}

func (s *session) serve() {
	s.svc.hub.join(s)
	code, reason := s.readLoop()
	s.svc.hub.leave(s)
	if s.conn.drainTimedOut() {
		// Cut for not reading: too_slow, like a fan past send_buffer,
		// though its full socket cannot take the 1008 close frame.
		s.failOnce.Do(func() {
			s.failCode = ws.StatusPolicyViolation
			s.svc.metrics.slowFans.Add(1)
		})
	}
	s.failOnce.Do(func() { s.failCode = code })
	if s.failCode == 0 {
		s.conn.abort() // the fan is gone
	} else {
		s.conn.close(s.failCode, reason) // a no-op if fail already closed it with its reason
	}
	<-s.conn.closed() // bounded by the drain timeout and the close-frame timeout
}

// logger is the fan's logger, built when there is something to log: a
// logger per idle fan would cost more than the fan's other state.
func (s *session) logger() *slog.Logger {
	return s.svc.log.With("room", s.room, "ip", s.ip, "user", s.who.User)
}

// queueReplay sends the frames a fan gets first: the replay (replayed
// message frames), then synced, in one write. Called by the hub under the
// room lock before the fan is registered.
func (s *session) queueReplay(frames []byte, replayed int, complete bool) {
	if f, err := wire.Encode(wire.Synced{Replayed: replayed, Complete: complete, Since: s.since.Clone()}); err == nil {
		frames = append(frames, serverFrame(f)...)
	}
	// A replay is never too much (see sendReplay); an error means the fan
	// is already gone.
	_ = s.conn.sendReplay(frames)
}

// deliverLocked sends a flush of the room's messages: all, the frames of
// every one of them, when the fan has none of them yet (the usual case),
// else only those it lacks. Called by the room under its lock.
func (s *session) deliverLocked(r *room, msgs []outgoing, all []byte) {
	fresh := 0
	for _, o := range msgs {
		if o.id.Seq == 0 || !s.since.Seen(o.id) { // zero id: a frame for every fan
			fresh++
		}
	}
	if fresh == 0 {
		return
	}
	if fresh == len(msgs) {
		for _, o := range msgs {
			if o.id.Seq != 0 {
				s.since.Advance(o.id)
			}
		}
		s.sendLocked(r, all)
		return
	}
	var some []byte
	for _, o := range msgs {
		if o.id.Seq == 0 || s.since.Advance(o.id) {
			some = append(some, o.frame...)
		}
	}
	s.sendLocked(r, some)
}

// sendLocked sends frames to a fan of r, called under r's lock; a fan
// that is too far behind is cut off and leaves the room at once, so that
// it never holds up the others.
func (s *session) sendLocked(r *room, frames []byte) {
	if err := s.conn.send(frames); err != nil {
		if errors.Is(err, errFanSlow) {
			s.fail(ws.StatusPolicyViolation)
		}
		delete(r.fans, s)
	}
}

// sendBytes sends frames outside a room's lock (answers to the fan).
func (s *session) sendBytes(frames []byte) {
	if err := s.conn.send(frames); errors.Is(err, errFanSlow) {
		s.fail(ws.StatusPolicyViolation)
	}
}

func (s *session) sendFrame(f wire.ServerFrame) {
	b, err := wire.Encode(f)
	if err != nil {
		s.logger().Error("encode frame", "err", err)
		return
	}
	s.sendBytes(serverFrame(b))
}

// fail cuts the fan off with code: the reader is stopped by closing the
// socket after the close frame.
func (s *session) fail(code ws.StatusCode) {
	s.failOnce.Do(func() {
		s.failCode = code
		if code == ws.StatusPolicyViolation {
			s.svc.metrics.slowFans.Add(1)
		}
		s.conn.close(code, closeReason(code))
	})
}

func closeReason(code ws.StatusCode) string {
	switch code {
	case ws.StatusPolicyViolation:
		return "too slow: frames were not read in time"
	case ws.StatusGoingAway:
		return "node shutting down"
	}
	return ""
}

// readLoop reads the fan's frames until the connection ends, and returns
// the close code the node should answer with (0: none, the fan is gone).
func (s *session) readLoop() (ws.StatusCode, string) {
	limits := wire.Limits{MaxFrameBytes: s.svc.cfg.MaxFrameBytes, MaxTextBytes: s.svc.cfg.MaxTextBytes}
	idle := 2*s.svc.cfg.PingInterval + 5*time.Second
	for {
		// Frames a bit over the limit get a bad_frame answer from the
		// decoder; far over it, the connection is closed with 1009 before
		// the frame is read.
		op, data, err := s.conn.readMessage(idle, 2*s.svc.cfg.MaxFrameBytes)
		var perr *protocolError
		switch {
		case errors.As(err, &perr):
			return perr.code, perr.msg
		case errors.Is(err, errCloseFrame):
			return ws.StatusNormalClosure, ""
		case err != nil:
			return 0, ""
		}
		if op != ws.OpText {
			s.sendFrame(*wire.Errorf(wire.CodeBinaryFrame, "", "binary frames are not part of the protocol; send JSON text frames"))
			continue
		}
		f, ferr := wire.DecodeClientFrame(data, limits)
		if ferr != nil {
			s.svc.metrics.badFrames.Add(1)
			s.sendFrame(*ferr)
			continue
		}
		switch f.Type {
		case wire.TypePing:
			s.sendFrame(wire.Pong{Nonce: f.Nonce})
		case wire.TypePublish:
			s.publish(f)
		}
	}
}

func (s *session) publish(f wire.ClientFrame) {
	switch {
	case !s.who.CanPost:
		s.sendFrame(*wire.Errorf(wire.CodeNotAllowed, f.Nonce, "posting needs a signed-in identity"))
		return
	case !s.svc.limiter.allow(s.ip, time.Now()):
		s.svc.metrics.rateLimited.Add(1)
		s.sendFrame(*wire.Errorf(wire.CodeRateLimited, f.Nonce, "over %g messages per second from your address; message dropped", s.svc.cfg.RatePerSecond))
		return
	}
	m := wire.Message{Room: s.room, User: s.who.User, Text: f.Text,
		TS: time.Now().UTC().Truncate(time.Millisecond), Region: s.svc.cfg.Region}
	ctx, cancel := context.WithTimeout(s.svc.ctx, 5*time.Second)
	stored, err := s.svc.pub.publish(ctx, m, dedupID(s.room, s.who.User, f.Nonce))
	cancel()
	if err != nil {
		s.svc.metrics.publishFailed.Add(1)
		s.logger().Warn("publish failed", "err", err)
		s.sendFrame(*wire.Errorf(wire.CodeInternal, f.Nonce, "message not stored; try again"))
		return
	}
	s.svc.metrics.published.Add(1)
	s.sendFrame(wire.Ack{Nonce: f.Nonce, ID: stored.ID, TS: stored.TS})
}

// dedupID is the publish's idempotency key: the same nonce from the same
// user in the same room names the same message. Hashed, because nonces may
// hold characters a NATS header may not. Empty without a nonce.
func dedupID(room, user, nonce string) string {
	if nonce == "" {
		return ""
	}
	h := sha256.Sum256([]byte(room + "\x00" + user + "\x00" + nonce))
	return hex.EncodeToString(h[:16])
}

// clientIP is the peer address of the request. X-Forwarded-For is not
// trusted: fans reach edges directly (DNS routing, no proxy in front).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
