package bench

import (
	"context"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// Sync runs one process's fans in step with the other worker processes of
// a run (RunWorkers): every worker connects its fans, then all start
// publishing at one time, and stop draining when the parent has seen every
// measured message arrive everywhere.
type Sync interface {
	// Ready reports the end of this process's ramp and blocks until the
	// parent gives the start: the publishing start time and, per room,
	// the fans connected in every process.
	Ready(ctx context.Context, r Ready) (Start, error)
	// Drained reports this process's drain figures and whether the parent
	// has said the run is drained. It must not block for long.
	Drained(ctx context.Context, st DrainStatus) bool
}

// Ready is one process's ramp outcome.
type Ready struct {
	Connected       int   `json:"connected"`
	ConnectFailures int64 `json:"connect_failures"`
	Publishers      int   `json:"publishers"` // this process's publishers that connected
	RoomFans        []int `json:"room_fans"`  // connected fans per room
}

// Start is the parent's go.
type Start struct {
	At       time.Time `json:"at"`        // when the publishers' schedule starts
	RoomFans []int     `json:"room_fans"` // connected fans per room, over every process
}

// DrainStatus is one process's part of "has every measured message
// reached every fan of its room?".
type DrainStatus struct {
	Measured int64 `json:"measured"` // measured deliveries at this process's fans
	Want     int64 `json:"want"`     // this process's publishers' stored measured publishes × their room's fans (all processes)
	Pending  int   `json:"pending"`  // this process's measured publishes without an answer that no fan here has seen
}

// DrainDone reports whether the processes' statuses, together, say every
// stored measured message has arrived and no measured publish awaits its
// answer.
func DrainDone(sts []DrainStatus) bool {
	var have, want int64
	pending := 0
	for _, s := range sts {
		have += s.Measured
		want += s.Want
		pending += s.Pending
	}
	return pending == 0 && have >= want
}

func (r *runner) drainStatus() DrainStatus {
	from, to := r.measureFrom.Load(), r.measureTo.Load()
	st := DrainStatus{Measured: r.c.measured.Load()}
	for _, p := range r.pubs {
		if p.fan == nil {
			continue
		}
		s := p.summary(from, to)
		st.Want += int64(s.StoredMeasured) * int64(r.roomFans[p.room])
		st.Pending += s.PendingMeas
	}
	return st
}

// Partial is what one process saw of a run: everything Merge needs to
// write the report as if one process had run every fan. Counts are this
// process's; which publishes were stored is settled at the merge, from
// the publishers' acks (reported by the process that ran each) and what
// every process's fans received.
type Partial struct {
	Started      time.Time `json:"started"`
	Interrupted  bool      `json:"interrupted,omitempty"`
	RampSecs     float64   `json:"ramp_s"`
	MeasuredSecs float64   `json:"measured_s"`

	Connected         int            `json:"connected"`
	ConnectFailures   int64          `json:"connect_failures"`
	Acks              int64          `json:"acks"`
	Reconnects        int64          `json:"reconnects"`
	ReconnectFailures int64          `json:"reconnect_failures"`
	BadFrames         int64          `json:"bad_frames"`
	Foreign           int64          `json:"foreign"`
	Errors            map[string]int `json:"errors"`
	Disconnects       map[string]int `json:"disconnects"`
	Samples           []string       `json:"samples,omitempty"`

	Pubs     []PubResult      `json:"pubs"`      // the publishers this process ran
	RoomFans []map[string]int `json:"room_fans"` // connected fans per room, by region of their node
	// Seen is, per publisher (any process's), the seqs this process's fans
	// received.
	Seen map[int]Ranges `json:"seen"`
	// Missing is what this process's fans skipped over and never got,
	// with how many fans missed each; Overflow is skips past what a fan
	// remembers (counted as gaps).
	Missing    []MissingRef `json:"missing,omitempty"`
	Overflow   int          `json:"overflow"`
	Duplicates int          `json:"duplicates"`
	Reordered  int          `json:"reordered"`

	Latency    []PairHist          `json:"latency"`
	AckLatency *benchkit.Histogram `json:"ack_latency"`
	Timeline   []SecondStats       `json:"timeline"`

	Client benchkit.ClientUsage `json:"client"`
}

// PairHist is the delivery latency histogram of one region pair.
type PairHist struct {
	From string              `json:"from"`
	To   string              `json:"to"`
	Hist *benchkit.Histogram `json:"hist"`
}

// MissingRef is a publish that Fans fans skipped over.
type MissingRef struct {
	Pub  int    `json:"pub"`
	Seq  uint64 `json:"seq"`
	Fans int    `json:"fans"`
}

// partial assembles this process's part; every goroutine has stopped.
func (r *runner) partial(rampTook, measured time.Duration, interrupted bool) *Partial {
	p := &Partial{
		Started: r.start, Interrupted: interrupted,
		RampSecs: rampTook.Seconds(), MeasuredSecs: measured.Seconds(),
		Connected: int(r.connected.Load()), ConnectFailures: r.c.connectFailures.Load(),
		Acks: r.c.acks.Load(), Reconnects: r.c.reconnects.Load(), ReconnectFailures: r.c.reconnectFailures.Load(),
		BadFrames: r.c.badFrames.Load(), Foreign: r.c.foreign.Load(),
		Seen: map[int]Ranges{},
	}
	p.Errors, p.Disconnects, p.Samples = r.c.snapshot()
	from, to := r.measureFrom.Load(), r.measureTo.Load()
	for _, pub := range r.pubs {
		if pub.fan != nil {
			p.Pubs = append(p.Pubs, pub.result(from, to))
		}
		if rs := pub.seenRanges(); len(rs) > 0 {
			p.Seen[pub.idx] = rs
		}
	}
	p.RoomFans = make([]map[string]int, r.cfg.Rooms)
	for i := range p.RoomFans {
		p.RoomFans[i] = map[string]int{}
	}
	missing := map[seqRef]int{}
	for _, f := range r.fans {
		if f.inRun {
			p.RoomFans[f.room][f.node.Region]++
		}
		p.Duplicates += f.seq.dups
		p.Reordered += f.seq.reordered
		p.Overflow += f.seq.overflow
		for _, m := range f.seq.missing {
			missing[m]++
		}
	}
	for m, n := range missing {
		p.Missing = append(p.Missing, MissingRef{Pub: int(m.pub), Seq: m.seq, Fans: n})
	}
	for k, h := range r.lat.merged() {
		p.Latency = append(p.Latency, PairHist{From: k.From, To: k.To, Hist: h})
	}
	p.AckLatency = benchkit.NewHistogram()
	for _, h := range r.ackLat.merged() {
		p.AckLatency.Merge(h)
	}
	p.Timeline = r.lat.timeline()
	p.Client = benchkit.ReadClientUsage()
	return p
}

// Merge writes the report of a run from its processes' partials (one for
// a run in one process), as if one process had run every fan: counts and
// histograms add up, timelines merge by second, and a publish counts as
// stored when its publisher's process saw it acked or any process's fan
// received it.
func Merge(cfg Config, parts []*Partial) *Report {
	rep := &Report{
		Mode: cfg.Mode, Nodes: cfg.Mesh.Nodes, Fans: cfg.Fans, Rooms: cfg.Rooms, RoomPrefix: cfg.RoomPrefix,
		Publishers: cfg.Publishers, Rate: cfg.Rate, WarmupSecs: cfg.Warmup.Seconds(),
		Workers: len(parts), Sources: max(len(cfg.Sources), 1),
		Errors: map[string]int{}, Disconnects: map[string]int{},
	}
	if rep.Mode == "" {
		rep.Mode = ModeDelivery
	}
	hist := map[pairKey]*benchkit.Histogram{}
	ackHist := benchkit.NewHistogram()
	roomFans := make([]map[string]int, cfg.Rooms)
	for i := range roomFans {
		roomFans[i] = map[string]int{}
	}
	seen := map[int][]Ranges{}
	pubs := map[int]PubResult{}
	for i, p := range parts {
		if i == 0 || p.Started.Before(rep.Started) {
			rep.Started = p.Started
		}
		rep.Interrupted = rep.Interrupted || p.Interrupted
		rep.RampSecs = max(rep.RampSecs, p.RampSecs)
		rep.DurationSecs = max(rep.DurationSecs, p.MeasuredSecs)
		rep.Connected += p.Connected
		rep.ConnectFailures += p.ConnectFailures
		rep.Acks += p.Acks
		rep.Reconnects += p.Reconnects
		rep.ReconnectFailures += p.ReconnectFailures
		rep.BadFrames += p.BadFrames
		rep.Foreign += p.Foreign
		for k, v := range p.Errors {
			rep.Errors[k] += v
		}
		for k, v := range p.Disconnects {
			rep.Disconnects[k] += v
		}
		for _, s := range p.Samples {
			if len(rep.Samples) < maxSamples {
				rep.Samples = append(rep.Samples, s)
			}
		}
		rep.Duplicates += p.Duplicates
		rep.Reordered += p.Reordered
		rep.Gaps += p.Overflow
		for room, regions := range p.RoomFans {
			if room < len(roomFans) {
				for region, n := range regions {
					roomFans[room][region] += n
				}
			}
		}
		for idx, rs := range p.Seen {
			seen[idx] = append(seen[idx], rs)
		}
		for _, pr := range p.Pubs {
			pubs[pr.Idx] = pr
		}
		for _, ph := range p.Latency {
			k := pairKey{ph.From, ph.To}
			if hist[k] == nil {
				hist[k] = benchkit.NewHistogram()
			}
			hist[k].Merge(ph.Hist)
		}
		ackHist.Merge(p.AckLatency)
		rep.Timeline = mergeTimeline(rep.Timeline, p.Timeline)
		rep.Client = rep.Client.Add(p.Client)
	}

	stored := func(pub int, seq uint64) bool {
		if pubs[pub].Acked.has(seq) {
			return true
		}
		for _, rs := range seen[pub] {
			if rs.has(seq) {
				return true
			}
		}
		return false
	}
	var pr []pubRoom
	var total PublishReport
	for idx := range cfg.Publishers {
		p, ok := pubs[idx]
		if !ok {
			continue // its process reported nothing: counted as not sent
		}
		total.Sent += p.Sent
		total.Acked += p.Acked.count()
		total.Rejected += p.Rejected
		total.Unsent += p.Unsent
		total.Unanswered += p.Pending
		total.MissedSlots += p.Missed
		storedMeas := 0
		if p.MeasFirst > 0 {
			total.Measured += int(p.MeasLast - p.MeasFirst + 1)
			for seq := p.MeasFirst; seq <= p.MeasLast; seq++ {
				if stored(idx, seq) {
					storedMeas++
				}
			}
		}
		total.StoredMeasured += storedMeas
		for seq := uint64(1); seq <= uint64(p.Sent); seq++ {
			if !p.Acked.has(seq) && stored(idx, seq) {
				total.StoredDespite++
			}
		}
		region := cfg.Mesh.Nodes[nodeOf(idx, cfg.Rooms, len(cfg.Mesh.Nodes))].Region
		pr = append(pr, pubRoom{region: region, room: idx % cfg.Rooms, stored: storedMeas})
	}
	for _, p := range parts {
		for _, m := range p.Missing {
			if stored(m.Pub, m.Seq) {
				rep.Gaps += m.Fans
			}
		}
	}
	measured := time.Duration(rep.DurationSecs * float64(time.Second))
	if measured > 0 {
		total.PerSecond = float64(total.Measured) / measured.Seconds()
	}
	rep.Publishes = total
	rep.AckLatency = ackStats(ackHist, measured)
	rep.Pairs, rep.Total = buildPairs(pairInput{
		hist:     hist,
		expected: expectedDeliveries(pr, roomFans),
		model:    modelLatencies(cfg.Mesh),
		duration: measured,
	})
	return rep
}

// mergeTimeline adds b's seconds into a's.
func mergeTimeline(a, b []SecondStats) []SecondStats {
	if len(b) > len(a) {
		a = append(a, make([]SecondStats, len(b)-len(a))...)
	}
	for i, s := range b {
		a[i].Delivered += s.Delivered
		a[i].MaxMs = max(a[i].MaxMs, s.MaxMs)
	}
	return a
}

// AckStats is the publish-to-ack latency of the measured publishes: the
// server's response time, what the publish mode measures.
type AckStats struct {
	Count     uint64  `json:"count"`
	PerSecond float64 `json:"per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
}

func ackStats(h *benchkit.Histogram, d time.Duration) AckStats {
	s := AckStats{Count: h.Count(), P50Ms: benchkit.Millis(h.Quantile(0.5)), P99Ms: benchkit.Millis(h.Quantile(0.99)),
		MaxMs: benchkit.Millis(h.Max()), MeanMs: benchkit.Millis(h.Mean())}
	if d > 0 {
		s.PerSecond = float64(s.Count) / d.Seconds()
	}
	return s
}
