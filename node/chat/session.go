package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// writeTimeout bounds one frame write to a fan; a fan that cannot take a
// frame in this long is gone or hopelessly slow.
const writeTimeout = 10 * time.Second

// session is one fan's WebSocket connection.
type session struct {
	svc  *Service
	conn *websocket.Conn
	log  *slog.Logger
	room string
	ip   string
	who  Identity

	// since is what the fan has been sent, per origin; the hub advances it
	// under the room's lock and skips what the fan already has, which is
	// what makes a resumed connection free of duplicates.
	since wire.Since

	replay [][]byte    // frames to send before anything queued; set by join
	queue  chan []byte // live frames, responses

	ctx      context.Context
	cancel   context.CancelFunc
	failOnce sync.Once
	failCode wire.Code
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
	defer svc.sessions.Done()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Fan pages are served from the platform's own origin, not ours.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the client
	}
	// Frames a bit over the limit get a bad_frame answer from the decoder;
	// far over it, the library closes with 1009 before buffering them.
	conn.SetReadLimit(int64(2 * svc.cfg.MaxFrameBytes))
	ctx, cancel := context.WithCancel(svc.ctx)
	s := &session{
		svc: svc, conn: conn, room: join.Room, ip: clientIP(r), who: who,
		since: join.Since, queue: make(chan []byte, svc.cfg.SendQueue),
		ctx: ctx, cancel: cancel,
	}
	s.log = svc.log.With("room", s.room, "ip", s.ip, "user", who.User)
	svc.metrics.fans.Add(1)
	defer svc.metrics.fans.Add(-1)
	s.serve()
}

func (s *session) serve() {
	defer s.cancel()
	s.svc.hub.join(s)
	defer s.svc.hub.leave(s)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop()
	}()
	s.readLoop()
	s.cancel()
	<-writerDone

	switch {
	case s.failCode == wire.CodeTooSlow:
		_ = s.conn.Close(websocket.StatusPolicyViolation, "too slow: frames were not read in time")
	case s.svc.ctx.Err() != nil:
		_ = s.conn.Close(websocket.StatusGoingAway, "node shutting down")
	default:
		_ = s.conn.CloseNow()
	}
}

// queueReplay sets the frames sent first: the replay, then synced. Called
// by the hub under the room lock before the fan is registered.
func (s *session) queueReplay(msgs []wire.Message, complete bool) {
	frames := make([][]byte, 0, len(msgs)+1)
	for _, m := range msgs {
		if f, err := wire.Encode(m); err == nil {
			frames = append(frames, f)
		}
	}
	if f, err := wire.Encode(wire.Synced{Replayed: len(msgs), Complete: complete, Since: s.since.Clone()}); err == nil {
		frames = append(frames, f)
	}
	s.replay = frames
}

// deliverLocked queues a live message frame unless the fan has it. Called
// by the hub under the room lock; it never blocks.
func (s *session) deliverLocked(id wire.ID, frame []byte) {
	if s.since.Seen(id) {
		return
	}
	s.since.Advance(id)
	s.send(frame)
}

// send queues a frame; a fan whose queue is full is cut off as too slow
// rather than allowed to hold up the room.
func (s *session) send(frame []byte) {
	select {
	case s.queue <- frame:
	default:
		s.fail(wire.CodeTooSlow)
	}
}

func (s *session) sendFrame(f wire.ServerFrame) {
	b, err := wire.Encode(f)
	if err != nil {
		s.log.Error("encode frame", "err", err)
		return
	}
	s.send(b)
}

func (s *session) fail(code wire.Code) {
	s.failOnce.Do(func() {
		s.failCode = code
		s.svc.metrics.slowFans.Add(1)
		s.cancel()
	})
}

func (s *session) writeLoop() {
	write := func(f []byte) bool {
		ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
		defer cancel()
		return s.conn.Write(ctx, websocket.MessageText, f) == nil
	}
	for _, f := range s.replay {
		if !write(f) {
			s.cancel()
			return
		}
	}
	s.replay = nil
	for {
		select {
		case f := <-s.queue:
			if !write(f) {
				s.cancel()
				return
			}
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *session) readLoop() {
	limits := wire.Limits{MaxFrameBytes: s.svc.cfg.MaxFrameBytes, MaxTextBytes: s.svc.cfg.MaxTextBytes}
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
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
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	stored, err := s.svc.store.publish(ctx, m, dedupID(s.room, s.who.User, f.Nonce))
	cancel()
	if err != nil {
		s.log.Warn("publish failed", "err", err)
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
