package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/chat/fan"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// fanState is one fan of the run. Its goroutine (runFan) owns the
// connection's reading side and the seq tracker; conn is shared with the
// publisher (writes) and the closer.
type fanState struct {
	idx      int
	node     benchkit.Node
	room     int
	roomName string
	pub      *publisher // nil unless this fan publishes
	seq      *seqTracker

	conn    atomic.Pointer[fan.Fan] // nil while disconnected
	synced  chan struct{}           // closed at the first synced frame
	dropped atomic.Bool             // not synced within the ramp: out of the run
	inRun   bool                    // connected and synced within the ramp; set before publishing starts
}

type runner struct {
	cfg     Config
	fans    []*fanState   // this process's fans: cfg.span()
	pubs    []*publisher  // every publisher of the run; fan is nil for other processes'
	dialers []*net.Dialer // one per source address (see dialers)
	lat     *latencies
	ackLat  *latencies // publish to ack, measured publishes of this process
	c       *counters
	start   time.Time // messages sent before this are not the run's

	// roomFans is, per room, the fans connected within the ramp in every
	// process: what a stored message must reach. Set before publishing.
	roomFans []int

	// The measured window, unix ns: set before the first publish.
	measureFrom, measureTo atomic.Int64
	stopping               atomic.Bool
	connected              atomic.Int64
	phase                  atomic.Value // string

	// wg owns every goroutine the run starts: fans, publishers, progress.
	wg  sync.WaitGroup
	out *benchkit.Progress
}

// Run runs one benchmark and returns its report. It returns an error
// without a report when the run could not be set up (bad config, no fan
// connected, no publisher connected). When ctx ends early the fans are
// closed and the report covers what was measured, with Interrupted set,
// along with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.RoomPrefix == "" {
		cfg.RoomPrefix = randomPrefix()
	}
	part, err := RunPartial(ctx, cfg)
	if part == nil {
		return nil, err
	}
	return Merge(cfg, []*Partial{part}), err
}

// RunPartial runs this process's fans (cfg.FanFrom..FanTo) and returns
// what they saw, for Merge. Errors as Run's; with cfg.Sync set, a ramp
// without connected fans or publishers is not an error here (the other
// workers may have them): the parent decides.
func RunPartial(ctx context.Context, cfg Config) (*Partial, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Mesh.Nodes) == 0 {
		return nil, errors.New("bench: no nodes to connect fans to")
	}
	if cfg.RoomPrefix == "" {
		cfg.RoomPrefix = randomPrefix()
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 5 * time.Second
	}
	r := newRunner(cfg)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	progCtx, stopProgress := context.WithCancel(runCtx)
	defer stopProgress()
	r.wg.Add(1)
	go r.progress(progCtx)

	r.setPhase("ramp")
	r.out.Printf("bench: %d fans on %d nodes in %d rooms (%s-*), %d publishers at %g msg/s total",
		cfg.Fans, len(cfg.Mesh.Nodes), cfg.Rooms, cfg.RoomPrefix, cfg.Publishers, cfg.Rate)
	connected, rampTook := r.ramp(runCtx)
	r.out.Printf("bench: ramp: %d of %d fans connected in %v, %d failed", connected, cfg.Fans,
		rampTook.Round(time.Millisecond), r.c.connectFailures.Load())
	pubsUp := 0
	for _, p := range r.pubs {
		if p.local() {
			pubsUp++
		}
	}
	if cfg.Sync == nil && (connected == 0 || pubsUp == 0) || ctx.Err() != nil {
		stopProgress()
		r.closeAll(cancel)
		_, _, samples := r.c.snapshot()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bench: interrupted during the ramp: %w", ctx.Err())
		}
		return nil, fmt.Errorf("bench: %d of %d fans and %d of %d publishers connected within the ramp of %v; first errors: %v",
			connected, cfg.Fans, pubsUp, cfg.Publishers, cfg.Ramp, samples)
	}

	r.roomFans = make([]int, cfg.Rooms)
	for _, f := range r.fans {
		if f.inRun {
			r.roomFans[f.room]++
		}
	}
	pubStart := time.Now()
	if cfg.Sync != nil {
		st, err := cfg.Sync.Ready(ctx, Ready{Connected: connected, ConnectFailures: r.c.connectFailures.Load(), Publishers: pubsUp, RoomFans: r.roomFans})
		if err != nil {
			stopProgress()
			r.closeAll(cancel)
			return nil, fmt.Errorf("bench: waiting for the other workers: %w", err)
		}
		if len(st.RoomFans) != cfg.Rooms {
			stopProgress()
			r.closeAll(cancel)
			return nil, fmt.Errorf("bench: the start lists %d rooms' fans, want %d", len(st.RoomFans), cfg.Rooms)
		}
		pubStart, r.roomFans = st.At, st.RoomFans
	}
	measureFrom := pubStart.Add(cfg.Warmup)
	measureTo := measureFrom.Add(cfg.Duration)
	r.measureFrom.Store(measureFrom.UnixNano())
	r.measureTo.Store(measureTo.UnixNano())
	r.setPhase("warmup")
	for _, p := range r.pubs {
		if p.local() {
			r.wg.Add(1)
			go r.runPublisher(runCtx, p, pubStart, measureTo)
		}
	}
	interrupted := !benchkit.SleepUntil(ctx, measureFrom)
	if !interrupted {
		r.setPhase("measure")
		r.out.Printf("bench: measuring for %v", cfg.Duration)
		interrupted = !benchkit.SleepUntil(ctx, measureTo)
	}
	if !interrupted {
		r.setPhase("drain")
		interrupted = !r.drain(ctx, measureTo.Add(cfg.Drain))
	}
	measuredFor := min(max(time.Since(measureFrom), 0), cfg.Duration) // less when interrupted
	r.setPhase("close")
	stopProgress()
	closeStart := time.Now()
	r.closeAll(cancel)
	r.out.Printf("bench: closed every connection in %v", time.Since(closeStart).Round(time.Millisecond))

	part := r.partial(rampTook, measuredFor, interrupted)
	if interrupted {
		return part, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	return part, nil
}

func newRunner(cfg Config) *runner {
	seconds := int((cfg.Duration + time.Second - 1) / time.Second)
	r := &runner{cfg: cfg, lat: newLatencies(64, seconds), ackLat: newLatencies(16, 0), c: newCounters(),
		start: time.Now(), out: benchkit.NewProgress(cfg.Progress), dialers: dialers(cfg.Sources)}
	r.phase.Store("start")
	nodes := cfg.Mesh.Nodes
	from, to := cfg.span()
	r.fans = make([]*fanState, to-from)
	for k := range r.fans {
		i := from + k
		room := i % cfg.Rooms
		r.fans[k] = &fanState{
			idx:      i,
			node:     nodes[nodeOf(i, cfg.Rooms, len(nodes))],
			room:     room,
			roomName: roomName(cfg.RoomPrefix, room),
			seq:      newSeqTracker(publishersInRoom(cfg.Publishers, cfg.Rooms, room)),
			synced:   make(chan struct{}),
		}
	}
	// The most publishes the schedule allows one publisher, with a margin.
	perPub := cfg.Rate / float64(cfg.Publishers)
	maxSeq := int(perPub*(cfg.Warmup+cfg.Duration).Seconds()) + 2
	r.pubs = make([]*publisher, cfg.Publishers)
	for i := range r.pubs {
		var f *fanState
		if i >= from && i < to {
			f = r.fans[i-from]
		}
		r.pubs[i] = newPublisher(i, f, i%cfg.Rooms, nodes[nodeOf(i, cfg.Rooms, len(nodes))].Region, maxSeq)
		if f != nil {
			f.pub = r.pubs[i]
		}
	}
	return r
}

// dialer is what fan f dials with: its source address's.
func (r *runner) dialer(f *fanState) *net.Dialer {
	return r.dialers[sourceOf(f.idx, len(r.dialers))]
}

// nodeOf is the node index of fan i, in room i mod rooms: a room's fans
// take the nodes in turn, each room starting one node further on. So a
// room's fans are spread evenly, and so are the publishers (fans
// 0..Publishers-1, the first of each room): with as many publishers as
// rooms they would otherwise all sit on the first node.
func nodeOf(i, rooms, nodes int) int { return (i/rooms + i%rooms) % nodes }

// publishersInRoom is how many of publishers 0..pubs-1 are in room: the
// publisher p is fan p, in room p mod rooms, at position p / rooms.
func publishersInRoom(pubs, rooms, room int) int {
	if room >= pubs {
		return 0
	}
	return (pubs - room + rooms - 1) / rooms
}

// ramp connects every fan, DialConcurrency at a time, each until its
// synced frame, within cfg.Ramp.
func (r *runner) ramp(ctx context.Context) (connected int, took time.Duration) {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Ramp)
	defer cancel()
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	var dials sync.WaitGroup
	i := 0
loop:
	for ; i < len(r.fans); i++ {
		select {
		case sem <- struct{}{}:
		case <-rctx.Done():
			break loop
		}
		f := r.fans[i]
		dials.Add(1)
		go func() {
			defer dials.Done()
			defer func() { <-sem }()
			r.connect(ctx, rctx, f)
		}()
	}
	if left := len(r.fans) - i; left > 0 {
		r.c.connectFailure(fmt.Errorf("%d fans not dialled: the ramp of %v ended", left, r.cfg.Ramp))
		r.c.connectFailures.Add(int64(left - 1))
	}
	dials.Wait()
	return int(r.connected.Load()), time.Since(start)
}

// connect dials one fan and waits for its synced frame; the fan's
// goroutine runs under runCtx from the dial on.
func (r *runner) connect(runCtx, rampCtx context.Context, f *fanState) {
	c, err := fan.DialWith(rampCtx, r.dialer(f), f.node.URL, f.roomName, nil)
	if err != nil {
		r.c.connectFailure(err)
		return
	}
	f.conn.Store(c)
	r.wg.Add(1)
	go r.runFan(runCtx, f, c)
	select {
	case <-f.synced:
		f.inRun = true
		r.connected.Add(1)
	case <-rampCtx.Done():
		f.dropped.Store(true)
		if c := f.conn.Load(); c != nil {
			_ = c.CloseNow()
		}
		r.c.connectFailure(fmt.Errorf("fan %d on %s: no synced frame within the ramp", f.idx, f.node.URL))
	}
}

func (r *runner) over(f *fanState) bool { return r.stopping.Load() || f.dropped.Load() }

// runFan reads fan f's frames until the run ends, and reconnects it with
// since= when its connection drops, as a real client does.
func (r *runner) runFan(ctx context.Context, f *fanState, c *fan.Fan) {
	defer r.wg.Done()
	joined := false
	for {
		err := r.read(ctx, f, c, &joined)
		_ = c.CloseNow()
		if r.over(f) || ctx.Err() != nil {
			return
		}
		f.conn.Store(nil)
		r.c.disconnect(disconnectReason(err), fmt.Errorf("fan %d on %s: %w", f.idx, f.node.URL, err))
		var since wire.Since // not joined yet: join again
		if joined {
			since = c.Since // resume: get exactly what was missed
		}
		if c = r.redial(ctx, f, since); c == nil {
			return
		}
	}
}

// disconnectReason classifies a read error for the report.
func disconnectReason(err error) string {
	if s := fan.CloseStatus(err); s != -1 {
		reason := "close " + strconv.Itoa(int(s))
		if s == wire.CloseStatus {
			reason += " (too_slow)"
		}
		return reason
	}
	if errors.Is(err, io.EOF) {
		return "eof"
	}
	return "error"
}

// redial reconnects f with a growing, jittered backoff until it succeeds or
// the run ends (nil).
func (r *runner) redial(ctx context.Context, f *fanState, since wire.Since) *fan.Fan {
	backoff := 100 * time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		t.Reset(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if r.over(f) {
			return nil
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := fan.DialWith(dctx, r.dialer(f), f.node.URL, f.roomName, since)
		cancel()
		if err != nil {
			r.c.reconnectFailures.Add(1)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		r.c.reconnects.Add(1)
		f.conn.Store(c)
		if r.over(f) { // the closer may have looked before the Store
			_ = c.CloseNow()
			return nil
		}
		return c
	}
}

// read handles frames until the connection fails. A message before the
// fan's first synced frame is join history (not this run's), so it is
// skipped; after a reconnect, the replay before synced is what the fan
// missed, so it counts.
func (r *runner) read(ctx context.Context, f *fanState, c *fan.Fan, joined *bool) error {
	for {
		fr, err := c.Read(ctx)
		if err != nil {
			// A frame that did not decode leaves the connection good.
			if errors.Is(err, fan.ErrBadFrame) {
				r.c.badFrames.Add(1)
				continue
			}
			return err
		}
		switch v := fr.(type) {
		case wire.Message:
			if *joined {
				r.onMessage(f, v)
			}
		case wire.Synced:
			c.Since.Merge(v.Since)
			if !*joined {
				*joined = true
				close(f.synced)
			}
		case wire.Ack:
			r.c.acks.Add(1)
			if f.pub != nil {
				if sent, first := f.pub.resolve(v.Nonce, statusAcked); first && sent >= r.measureFrom.Load() && sent < r.measureTo.Load() {
					r.ackLat.record(f.pub.idx, pairKey{}, -1, time.Since(time.Unix(0, sent)))
				}
			}
		case wire.Error:
			r.c.errorFrame(string(v.Code))
			if f.pub != nil && v.Nonce != "" {
				_, _ = f.pub.resolve(v.Nonce, statusRejected)
			}
		case wire.Presence:
			r.c.presence.Add(1)
		}
	}
}

func (r *runner) onMessage(f *fanState, m wire.Message) {
	now := time.Now()
	pub, seq, sent, ok := parseBenchText(m.Text)
	rooms := r.cfg.Rooms
	if !ok || pub >= len(r.pubs) || pub%rooms != f.room || sent < r.start.UnixNano() {
		r.c.foreign.Add(1)
		return
	}
	if !f.seq.see(pub/rooms, pub, seq) {
		return // duplicate: counted by the tracker, not delivered twice
	}
	r.pubs[pub].markSeen(seq)
	if from := r.measureFrom.Load(); sent >= from && sent < r.measureTo.Load() {
		sec := int((sent - from) / int64(time.Second))
		r.lat.record(f.idx, pairKey{r.pubs[pub].region, f.node.Region}, sec, now.Sub(time.Unix(0, sent)))
		r.c.measured.Add(1)
	}
}

// runPublisher publishes on a fixed schedule from start (staggered by
// publisher) until end. Open loop: when it falls more than a slot behind
// (this process starved of CPU), it skips the slots and counts them.
func (r *runner) runPublisher(ctx context.Context, p *publisher, start, end time.Time) {
	defer r.wg.Done()
	n := time.Duration(len(r.pubs))
	interval := time.Duration(float64(time.Second) * float64(n) / r.cfg.Rate)
	next := start.Add(time.Duration(p.idx) * interval / n)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if !now.Before(end) || r.stopping.Load() {
			return
		}
		r.publish(ctx, p, now)
		next = next.Add(interval)
		missed := 0
		for time.Since(next) > interval {
			next = next.Add(interval)
			missed++
		}
		if missed > 0 {
			p.addMissed(missed)
		}
		t.Reset(time.Until(next))
	}
}

func (r *runner) publish(ctx context.Context, p *publisher, now time.Time) {
	seq := p.next(now)
	c := p.fan.conn.Load()
	if c == nil {
		p.unsent(seq)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Publish(wctx, benchText(p.idx, seq, now), strconv.FormatUint(seq, 10)); err != nil {
		p.unsent(seq)
	}
}

// drain waits until every stored measured message has reached every
// fan of its room, no measured publish awaits its answer, or deadline; false
// when ctx ended first. With other workers, the parent says when (Sync).
func (r *runner) drain(ctx context.Context, deadline time.Time) bool {
	every := 50 * time.Millisecond
	if r.cfg.Sync != nil {
		every = 200 * time.Millisecond // a status line per worker each time
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		st := r.drainStatus()
		if r.cfg.Sync != nil {
			if r.cfg.Sync.Drained(ctx, st) {
				return true
			}
		} else if DrainDone([]DrainStatus{st}) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-tick.C:
		}
	}
}

// closeAll closes every connection with a close handshake, a bounded
// number at a time, then cancels the run and waits for every goroutine.
func (r *runner) closeAll(cancel context.CancelFunc) {
	r.stopping.Store(true)
	work := make(chan *fanState)
	var closers sync.WaitGroup
	for range min(r.cfg.DialConcurrency, len(r.fans)) {
		closers.Add(1)
		go func() {
			defer closers.Done()
			for f := range work {
				if c := f.conn.Load(); c != nil {
					_ = c.Close()
				}
			}
		}()
	}
	giveUp := time.NewTimer(15 * time.Second)
	defer giveUp.Stop()
feed:
	for _, f := range r.fans {
		select {
		case work <- f:
		case <-giveUp.C:
			break feed // the rest are dropped by cancel below
		}
	}
	close(work)
	closers.Wait()
	cancel() // anything still reading stops; Read closes its connection
	r.wg.Wait()
}

// progress prints a line every cfg.ProgressEvery until ctx ends.
func (r *runner) progress(ctx context.Context) {
	defer r.wg.Done()
	r.out.Every(ctx, r.cfg.ProgressEvery, func() {
		errs, discs, _ := r.c.snapshot()
		ne, nd := 0, 0
		for _, v := range errs {
			ne += v
		}
		for _, v := range discs {
			nd += v
		}
		r.out.Printf("bench: %5.1fs %-7s connected %d, failed %d, acks %d, measured deliveries %d, error frames %d, disconnects %d",
			time.Since(r.start).Seconds(), r.phase.Load(), r.connected.Load(), r.c.connectFailures.Load(),
			r.c.acks.Load(), r.c.measured.Load(), ne, nd)
	})
}

func (r *runner) setPhase(p string) { r.phase.Store(p) }
