package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// server is one phase-1 chat server: fans connect with gorilla/websocket,
// every publish goes to Redis (PUBLISH on the room's channel) and every
// server subscribed to that channel writes it to its own fans. It keeps
// nothing: no history, no presence, no rate limit.
type server struct {
	name   string // origin of the message ids: <name>.<seq>
	region string
	rdb    *redis.Client
	log    *slog.Logger

	seq      atomic.Uint64 // per-server message counter
	upgrader websocket.Upgrader

	ps *redis.PubSub // one subscription connection for every room of this server

	mu    sync.Mutex
	rooms map[string]map[*client]struct{}
	conns map[*client]struct{} // every open fan, for closeAll
	fans  sync.WaitGroup       // serveWS calls past the upgrade
}

// client is one fan: a reader goroutine (serveWS) and a writer goroutine
// (writeLoop) joined by a buffered channel, as gorilla's chat example does.
type client struct {
	conn *websocket.Conn
	send chan []byte
	done chan struct{} // closed when the reader returns: the writer stops
	once sync.Once
}

// sendBuffer is how many frames may wait for a slow fan before it is cut
// off (close 1008, as relaymesh does).
const sendBuffer = 256

func newServer(name, region string, rdb *redis.Client, log *slog.Logger) *server {
	return &server{
		name: name, region: region, rdb: rdb, log: log,
		upgrader: websocket.Upgrader{
			ReadBufferSize: 1024, WriteBufferSize: 1024,
			CheckOrigin: func(*http.Request) bool { return true },
		},
		rooms: map[string]map[*client]struct{}{},
		conns: map[*client]struct{}{},
		// Connects lazily, at the first room's SUBSCRIBE.
		ps: rdb.Subscribe(context.Background()),
	}
}

// closeAll closes every fan's connection and waits for their handlers
// (http.Server.Shutdown does not track hijacked connections).
func (s *server) closeAll() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.conn.Close()
	}
	s.mu.Unlock()
	s.fans.Wait()
}

func channelOf(room string) string { return "chat:" + room }

// run reads the Redis subscription and fans every message out to the
// room's fans until ctx ends.
func (s *server) run(ctx context.Context) {
	defer s.ps.Close()
	ch := s.ps.Channel(redis.WithChannelSize(4096))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			s.fanOut(m.Channel[len("chat:"):], []byte(m.Payload))
		}
	}
}

func (s *server) fanOut(room string, frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.rooms[room] {
		select {
		case c.send <- frame:
		default:
			c.kick() // slow fan: never block the others
		}
	}
}

func (c *client) kick() {
	c.once.Do(func() {
		// Short: the slow fan's socket buffer is likely full, and
		// fanOut holds the rooms lock.
		deadline := time.Now().Add(10 * time.Millisecond)
		_ = c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(int(wire.CloseStatus), string(wire.CodeTooSlow)), deadline)
		_ = c.conn.Close() // the reader fails and cleans up
	})
}

func (s *server) join(ctx context.Context, room string, c *client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fans := s.rooms[room]
	if fans == nil {
		// Subscribe under the lock so a leave cannot unsubscribe in between.
		if err := s.ps.Subscribe(ctx, channelOf(room)); err != nil {
			return err
		}
		fans = map[*client]struct{}{}
		s.rooms[room] = fans
	}
	fans[c] = struct{}{}
	return nil
}

func (s *server) leave(room string, c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms[room], c)
	if len(s.rooms[room]) == 0 {
		delete(s.rooms, room)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.ps.Unsubscribe(ctx, channelOf(room))
	}
}

func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/chat/ws", s.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// serveWS is one fan's connection: join the room, send synced (nothing to
// replay: no history), then read frames until the fan goes.
func (s *server) serveWS(w http.ResponseWriter, r *http.Request) {
	join, werr := wire.ParseJoin(r.URL.Query())
	if werr != nil {
		http.Error(w, `{"error":"`+string(werr.Code)+`"}`, http.StatusBadRequest)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := &client{conn: conn, send: make(chan []byte, sendBuffer), done: make(chan struct{})}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.fans.Add(1)
	s.mu.Unlock()
	defer s.fans.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = conn.Close()
	}()
	if err := s.join(r.Context(), join.Room, c); err != nil {
		s.log.Warn("subscribe", "room", join.Room, "err", err)
		return
	}
	defer s.leave(join.Room, c)
	synced, _ := wire.Encode(wire.Synced{Complete: true})
	c.send <- synced // the buffer is empty: never blocks

	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		c.writeLoop()
	}()
	defer writer.Wait()
	defer close(c.done)

	conn.SetReadLimit(wire.DefaultMaxFrameBytes)
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			c.reply(wire.Errorf(wire.CodeBinaryFrame, "", "only text frames"))
			continue
		}
		f, ferr := wire.DecodeClientFrame(data, wire.Limits{})
		if ferr != nil {
			c.reply(*ferr)
			continue
		}
		switch f.Type {
		case wire.TypePing:
			c.reply(wire.Pong{Nonce: f.Nonce})
		case wire.TypePublish:
			c.reply(s.publish(r.Context(), join.Room, f))
		}
	}
}

// publish stores nothing: it numbers the message, PUBLISHes the encoded
// frame on the room's channel and acks once Redis has taken it.
func (s *server) publish(ctx context.Context, room string, f wire.ClientFrame) wire.ServerFrame {
	ts := time.Now().UTC().Truncate(time.Millisecond)
	id := wire.ID{Origin: s.name, Seq: s.seq.Add(1)}
	frame, err := wire.Encode(wire.Message{ID: id, Room: room, User: "anon", Text: f.Text, TS: ts, Region: s.region})
	if err != nil {
		return wire.Errorf(wire.CodeInternal, f.Nonce, "encode: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.rdb.Publish(ctx, channelOf(room), frame).Err(); err != nil {
		return wire.Errorf(wire.CodeInternal, f.Nonce, "publish: %v", err)
	}
	return wire.Ack{Nonce: f.Nonce, ID: id, TS: ts}
}

// reply queues a frame for the fan; a full queue cuts the fan off.
func (c *client) reply(f wire.ServerFrame) {
	b, err := wire.Encode(f)
	if err != nil {
		return
	}
	select {
	case c.send <- b:
	default:
		c.kick()
	}
}

// writeLoop writes queued frames, one WriteMessage each, until the reader
// is done.
func (c *client) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case b := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				_ = c.conn.Close()
				return
			}
		}
	}
}
