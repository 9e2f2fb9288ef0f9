// Package chat is the fans' live chat at an edge: the WebSocket protocol
// (package wire), message storage in the node's JetStream, relay to every
// other node (live over core NATS along the leaf tree, repaired from
// JetStream stream sourcing), per-room history and reconnect recovery,
// presence, and abuse limits. docs/chat-design.md has the design and the
// profiles that chose it.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// Config configures the chat service; the node fills it from config.Chat.
type Config struct {
	Node, Region string
	NATS         *nats.Conn
	JetStream    jetstream.JetStream
	Logger       *slog.Logger
	Auth         Authenticator // default Anonymous

	HistoryOnJoin    int           // messages a new fan gets first
	RecoveryWindow   int           // messages per room held for recovery
	RecoveryMemory   int64         // bytes of held messages over all rooms (see heldMemory); 0: no bound
	Retention        time.Duration // how long the streams keep messages
	RatePerSecond    float64       // publishes per second per client IP
	RateBurst        int
	MaxTextBytes     int
	MaxFrameBytes    int
	PresenceInterval time.Duration
	PresenceFrames   int           // presence frames per second to this node's fans, at most
	MaxPendingBytes  int           // bytes waiting for one fan before it is cut off (1008)
	DrainTimeout     time.Duration // bound on writing out what waits for one fan
	BatchWindow      time.Duration // a busy room writes each fan at most once per window
	PingInterval     time.Duration // WebSocket pings; two missed intervals disconnect

	// RestartStore, if set, restarts the JetStream store under the chat
	// (natsd.Server.RestartJetStream). It is called when publishes have
	// kept failing for storeRepairAfter: a stream that hit a write error
	// fails every later write until it is reloaded.
	RestartStore func() error
}

// Service is a running chat service.
type Service struct {
	cfg      Config
	log      *slog.Logger
	store    *store
	pub      *publisher
	hub      *hub
	presence *presence
	limiter  *limiter
	presSub  *nats.Subscription
	metrics  counters

	aliveMu sync.Mutex
	alive   map[string]bool // members gossip says are alive

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // service goroutines

	admitMu      sync.Mutex
	closing      bool
	sessions     sync.WaitGroup // open fan connections
	nextPingSlot atomic.Uint32  // spreads fans over the ping slots
}

type counters struct {
	fans, published, publishFailed, rateLimited, badFrames, slowFans atomic.Int64
}

// New opens the streams, starts consuming and starts presence.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.NATS == nil || cfg.JetStream == nil {
		return nil, errors.New("chat: NATS and JetStream are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Auth == nil {
		cfg.Auth = Anonymous{}
	}
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = 256 << 10
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 20 * time.Second
	}
	if cfg.PresenceFrames <= 0 {
		cfg.PresenceFrames = 2000
	}
	svc := &Service{cfg: cfg, log: cfg.Logger, presence: newPresence(),
		limiter: newLimiter(cfg.RatePerSecond, cfg.RateBurst),
		hub:     newHub(cfg.Logger, cfg.RecoveryWindow, cfg.BatchWindow, cfg.RecoveryMemory)}
	var err error
	if svc.store, err = openStore(ctx, cfg.JetStream, cfg.Node, cfg.Retention); err != nil {
		return nil, err
	}
	svc.pub = newPublisher(cfg.JetStream, cfg.NATS, cfg.Node, cfg.Logger, svc.store.lastSeq)
	if err := svc.hub.start(ctx, cfg.NATS, cfg.JetStream); err != nil {
		return nil, err
	}
	if svc.presSub, err = cfg.NATS.Subscribe(presenceSubject+"*", svc.presence.receive); err != nil {
		svc.hub.stop()
		return nil, fmt.Errorf("chat: presence subscription: %w", err)
	}
	svc.ctx, svc.cancel = context.WithCancel(context.Background())
	svc.wg.Add(5)
	go func() {
		defer svc.wg.Done()
		svc.pub.run(svc.ctx)
	}()
	go svc.runPresence()
	go svc.watchSources()
	go svc.runPings()
	go svc.watchStore()
	return svc, nil
}

// Store repair: a store failure that lasts storeRepairAfter gets the store
// restarted, at most once per storeRepairEvery, with the reason logged.
const (
	storeRepairAfter = time.Second
	storeRepairEvery = 10 * time.Second
)

// watchStore restarts a store that keeps failing. Publishes tell it: the
// publisher marks the store failing on the first error and clears the
// mark on the first message stored.
func (svc *Service) watchStore() {
	defer svc.wg.Done()
	t := time.NewTicker(time.Second / 2)
	defer t.Stop()
	var failingSince, lastRepair time.Time
	for {
		select {
		case <-svc.ctx.Done():
			return
		case now := <-t.C:
			if !svc.pub.failing.Load() {
				failingSince = time.Time{}
				continue
			}
			if failingSince.IsZero() {
				failingSince = now
			}
			if now.Sub(failingSince) < storeRepairAfter || now.Sub(lastRepair) < storeRepairEvery || svc.cfg.RestartStore == nil {
				continue
			}
			lastRepair = now
			svc.log.Warn("chat store failing; restarting it", "failing_for", now.Sub(failingSince).Round(time.Millisecond),
				"failed_publishes", svc.pub.failures.Load())
			if err := svc.cfg.RestartStore(); err != nil {
				svc.log.Error("restarting the chat store", "err", err)
				continue
			}
			ctx, cancel := context.WithTimeout(svc.ctx, 10*time.Second)
			err := svc.store.ensure(ctx)
			cancel()
			if err != nil {
				svc.log.Error("re-opening the chat streams", "err", err)
				continue
			}
			svc.log.Info("chat store restarted")
			svc.pub.failing.Store(false) // the next publish tells
		}
	}
}

// pingSlots is how many parts of the ping interval the fans are spread
// over. Pinging every fan at once made, at 100,000 fans, 100,000 pings and
// as many pongs in the same second on every interval: a latency spike of
// seconds for the chat, every 20 s (relaymesh bench chat, docs/BENCHMARKS.md).
const pingSlots = 20

// runPings pings every fan once each PingInterval, a twentieth of them at
// a time, so that a fan's silence (no pong) tells the reader it is gone.
func (svc *Service) runPings() {
	defer svc.wg.Done()
	t := time.NewTicker(svc.cfg.PingInterval / pingSlots)
	defer t.Stop()
	for slot := uint32(0); ; slot = (slot + 1) % pingSlots {
		select {
		case <-svc.ctx.Done():
			return
		case <-t.C:
			svc.hub.sendToSlot(pingFrame, slot)
		}
	}
}

// Healthy reports why the service cannot store messages, or nil: the
// node's readiness includes it, so that a node whose chat store fails is
// taken out of the edge directory until it recovers.
func (svc *Service) Healthy() error {
	if svc.pub.failing.Load() {
		return errors.New("chat store is failing: publishes are answered with errors")
	}
	return nil
}

// SetMembers tells chat which nodes exist (alive or failed; not those that
// left), so that this node relays every one's messages, and which of them
// are alive, so that their stalled sources are re-armed promptly.
func (svc *Service) SetMembers(ctx context.Context, names []string, alive map[string]bool) error {
	svc.aliveMu.Lock()
	svc.alive = alive
	svc.aliveMu.Unlock()
	return svc.store.syncSources(ctx, names)
}

// watchSources re-arms stalled sources of live members (see store.go).
func (svc *Service) watchSources() {
	defer svc.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	state := make(map[string]*rearmState)
	for {
		select {
		case <-svc.ctx.Done():
			return
		case now := <-t.C:
			svc.aliveMu.Lock()
			alive := svc.alive
			svc.aliveMu.Unlock()
			ctx, cancel := context.WithTimeout(svc.ctx, 5*time.Second)
			rearmed, err := svc.store.rearmStalled(ctx, alive, state, now)
			cancel()
			if err != nil && svc.ctx.Err() == nil {
				svc.log.Warn("checking chat sources", "err", err)
			}
			if len(rearmed) > 0 {
				svc.log.Info("re-armed stalled chat sources", "origins", rearmed)
			}
		}
	}
}

// Routes registers the chat endpoints.
func (svc *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/chat/ws", svc.handleWS)
	mux.HandleFunc("GET /v1/rooms/{room}/history", svc.handleHistory)
	mux.HandleFunc("GET /v1/rooms/{room}/presence", svc.handlePresence)
}

// admit counts a new fan connection unless the service is closing.
func (svc *Service) admit() bool {
	svc.admitMu.Lock()
	defer svc.admitMu.Unlock()
	if svc.closing {
		return false
	}
	svc.sessions.Add(1)
	return true
}

// drainSpread is how long Close takes to disconnect every fan: spread out,
// so that the fans of a restarting node do not all reconnect to its
// neighbours in the same instant.
const drainSpread = time.Second

// Close disconnects every fan (WebSocket status 1001, so clients reconnect
// elsewhere), spread over drainSpread, stops presence and the hub, and
// waits for all of it.
func (svc *Service) Close(ctx context.Context) error {
	svc.admitMu.Lock()
	if svc.closing {
		svc.admitMu.Unlock()
		return nil
	}
	svc.closing = true
	svc.admitMu.Unlock()

	svc.cancel()
	fans := svc.hub.sessions()
	const steps = 20
	per := (len(fans) + steps - 1) / steps
	tick := time.NewTicker(drainSpread / steps)
	for i := 0; i < len(fans); i += per {
		for _, s := range fans[i:min(i+per, len(fans))] {
			s.fail(ws.StatusGoingAway)
		}
		if i+per < len(fans) {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	tick.Stop()
	done := make(chan struct{})
	go func() {
		svc.sessions.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("chat: fans still connected: %w", ctx.Err())
		for _, s := range svc.hub.sessions() {
			s.conn.abort()
		}
		<-done
	}
	_ = svc.presSub.Unsubscribe()
	svc.wg.Wait()
	svc.hub.stop()
	return err
}

func (svc *Service) handleHistory(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := wire.ValidRoom(room); err != nil {
		writeJSONError(w, http.StatusBadRequest, &wire.Error{Code: wire.CodeBadRoom, Message: err.Error()})
		return
	}
	limit, err := wire.ParseHistoryLimit(r.URL.Query().Get("limit"))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, &wire.Error{Code: "bad_limit", Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, wire.History{Room: room, Messages: svc.hub.history(room, limit)})
}

func (svc *Service) handlePresence(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := wire.ValidRoom(room); err != nil {
		writeJSONError(w, http.StatusBadRequest, &wire.Error{Code: wire.CodeBadRoom, Message: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, svc.presence.room(room, time.Now(), reportTTL*svc.cfg.PresenceInterval))
}

// Stats are the service's counters for metrics.
type Stats struct {
	Fans, Published, PublishFailed, RateLimited, BadFrames, SlowFans int64
	Relayed, RelayedLive, LiveSkipped, Malformed                     uint64
	Rooms                                                            int
	HeldBytes                                                        int64  // frames the rooms hold for recovery
	HeldTrimmed                                                      uint64 // of them, dropped early for chat.recovery_memory
}

// Stats returns the counters.
func (svc *Service) Stats() Stats {
	return Stats{
		Fans: svc.metrics.fans.Load(), Published: svc.metrics.published.Load(),
		PublishFailed: svc.metrics.publishFailed.Load(),
		RateLimited:   svc.metrics.rateLimited.Load(), BadFrames: svc.metrics.badFrames.Load(),
		SlowFans: svc.metrics.slowFans.Load(),
		Relayed:  svc.hub.delivered.Load(), RelayedLive: svc.hub.liveFirst.Load(),
		LiveSkipped: svc.hub.liveSkipped.Load(), Malformed: svc.hub.malformed.Load(),
		Rooms: svc.hub.roomCount(), HeldBytes: svc.hub.held.bytes.Load(), HeldTrimmed: svc.hub.held.trims.Load(),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError answers a plain HTTP request (or a WebSocket request
// refused before the upgrade) with the protocol's error shape.
func writeJSONError(w http.ResponseWriter, status int, e *wire.Error) {
	writeJSON(w, status, map[string]string{"error": string(e.Code), "message": e.Message})
}
