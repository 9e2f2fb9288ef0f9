package bench

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/regions"
)

// Report is the outcome of a run: what `relaymesh bench chat` prints, and
// its --json form.
type Report struct {
	Mode        string    `json:"mode"` // ModeDelivery or ModePublish
	Started     time.Time `json:"started"`
	Interrupted bool      `json:"interrupted,omitempty"`
	Workers     int       `json:"workers"` // processes that ran the fans
	Sources     int       `json:"sources"` // source addresses the fans dialled from

	// The run as configured.
	Nodes        []benchkit.Node `json:"nodes"`
	Fans         int             `json:"fans"`
	Rooms        int             `json:"rooms"`
	RoomPrefix   string          `json:"room_prefix"`
	Publishers   int             `json:"publishers"`
	Rate         float64         `json:"rate"`
	WarmupSecs   float64         `json:"warmup_s"`
	DurationSecs float64         `json:"duration_s"` // measured phase, as it ran

	// Connect phase.
	Connected       int     `json:"connected"`
	ConnectFailures int64   `json:"connect_failures"`
	RampSecs        float64 `json:"ramp_s"` // how long connecting took

	Publishes PublishReport `json:"publishes"`
	// AckLatency is publish to ack of the measured publishes.
	AckLatency AckStats `json:"ack_latency"`

	// Frames and connections, over the whole run.
	Acks              int64          `json:"acks"`
	Errors            map[string]int `json:"errors"`      // error frames by code
	Disconnects       map[string]int `json:"disconnects"` // by close status or cause
	Reconnects        int64          `json:"reconnects"`
	ReconnectFailures int64          `json:"reconnect_failures"`
	BadFrames         int64          `json:"bad_frames"` // server frames the client could not decode
	Foreign           int64          `json:"foreign"`    // messages that were not this run's

	// Delivery checks at every fan, over every message of the run.
	Duplicates int `json:"duplicates"` // the same message twice at one fan
	Gaps       int `json:"gaps"`       // a stored message skipped over at a fan
	Reordered  int `json:"reordered"`  // a message after a later one of its publisher

	// Latency and losses of the measured messages, per region pair
	// (publisher's node region -> receiving fan's node region).
	Pairs []PairStats `json:"pairs"`
	Total PairStats   `json:"total"`
	// Timeline is, per second of the measured phase (by send time), the
	// deliveries of the messages sent in it and their worst latency.
	Timeline []SecondStats `json:"timeline"`

	Samples []string             `json:"samples,omitempty"` // first connect/disconnect errors
	Client  benchkit.ClientUsage `json:"client"`            // summed over the worker processes
}

// PublishReport counts the publishes of the run.
type PublishReport struct {
	Sent           int     `json:"sent"`            // warmup and measured
	Measured       int     `json:"measured"`        // sent in the measured phase
	PerSecond      float64 `json:"per_sec"`         // measured / duration
	Acked          int     `json:"acked"`           // stored at the edge
	StoredMeasured int     `json:"stored_measured"` // measured and stored (acked, or received by a fan): what expected deliveries count
	Rejected       int     `json:"rejected"`        // answered with an error frame
	Unsent         int     `json:"unsent"`          // the publisher was disconnected, or the write failed
	Unanswered     int     `json:"unanswered"`      // neither ack nor error by the end
	StoredDespite  int     `json:"stored_despite"`  // not acked (error or no answer) yet received by fans: stored after all
	MissedSlots    int     `json:"missed_slots"`    // schedule slots skipped: the publishers ran late
}

// PairStats is delivery of measured messages from one region to another.
type PairStats struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Expected  int64   `json:"expected"`  // stored measured publishes × fans of the room on To
	Delivered int64   `json:"delivered"` // received, duplicates excluded
	Lost      int64   `json:"lost"`      // expected - delivered, when positive
	PerSecond float64 `json:"msgs_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
	// ModelMs is the regions model's one-way latency along the chat tree
	// (the worst over the pair's nodes): what WAN emulation adds. Absent
	// when the tree is unknown.
	ModelMs *float64 `json:"model_ms,omitempty"`
}

// pairInput is everything per-pair figures are computed from.
type pairInput struct {
	hist     map[pairKey]*benchkit.Histogram
	expected map[pairKey]int64
	model    map[pairKey]time.Duration
	duration time.Duration
}

// buildPairs computes the per-pair rows, in regions.All order (unknown
// regions last, by name), and the total row over all of them.
func buildPairs(in pairInput) (pairs []PairStats, total PairStats) {
	keys := map[pairKey]bool{}
	for k := range in.hist {
		keys[k] = true
	}
	for k, n := range in.expected {
		if n > 0 {
			keys[k] = true
		}
	}
	sorted := slices.SortedFunc(maps.Keys(keys), func(a, b pairKey) int {
		return cmp.Or(compareRegion(a.From, b.From), compareRegion(a.To, b.To))
	})
	all := benchkit.NewHistogram()
	var expected int64
	for _, k := range sorted {
		h := in.hist[k]
		if h == nil {
			h = benchkit.NewHistogram()
		}
		all.Merge(h)
		expected += in.expected[k]
		ps := pairRow(k.From, k.To, h, in.expected[k], in.duration)
		if d, ok := in.model[k]; ok {
			ms := benchkit.Millis(d)
			ps.ModelMs = &ms
		}
		pairs = append(pairs, ps)
	}
	return pairs, pairRow("all", "all", all, expected, in.duration)
}

func pairRow(from, to string, h *benchkit.Histogram, expected int64, d time.Duration) PairStats {
	ps := PairStats{
		From: from, To: to, Expected: expected, Delivered: int64(h.Count()),
		P50Ms: benchkit.Millis(h.Quantile(0.5)), P99Ms: benchkit.Millis(h.Quantile(0.99)),
		MaxMs: benchkit.Millis(h.Max()), MeanMs: benchkit.Millis(h.Mean()),
	}
	ps.Lost = max(ps.Expected-ps.Delivered, 0)
	if d > 0 {
		ps.PerSecond = float64(ps.Delivered) / d.Seconds()
	}
	return ps
}

func compareRegion(a, b string) int {
	rank := func(s string) int {
		for i, r := range regions.All() {
			if r.Name == s {
				return i
			}
		}
		return len(regions.All())
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// expectedDeliveries is, per pair, the stored measured publishes of each
// publisher times the fans of its room on each region. A publish counts as
// stored when it was acked or any fan received it, so every delivery is of
// an expected message and lost = expected - delivered is never negative.
func expectedDeliveries(pubs []pubRoom, roomFans []map[string]int) map[pairKey]int64 {
	out := map[pairKey]int64{}
	for _, p := range pubs {
		for region, n := range roomFans[p.room] {
			out[pairKey{p.region, region}] += int64(p.stored) * int64(n)
		}
	}
	return out
}

// pubRoom is a publisher as expectedDeliveries sees it.
type pubRoom struct {
	region string
	room   int
	stored int // stored measured publishes
}

// modelLatencies is, per region pair of the nodes in use, the worst
// modelled one-way latency along the tree between their nodes.
func modelLatencies(mesh Mesh) map[pairKey]time.Duration {
	out := map[pairKey]time.Duration{}
	for _, a := range mesh.Nodes {
		for _, b := range mesh.Nodes {
			d, ok := mesh.ModelOneWay(a.Name, b.Name)
			if !ok {
				continue
			}
			k := pairKey{a.Region, b.Region}
			if cur, seen := out[k]; !seen || d > cur {
				out[k] = d
			}
		}
	}
	return out
}

// WriteText renders the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "relaymesh bench chat (%s): %d fans on %d nodes, %d rooms, %d publishers at %g msg/s; warmup %gs, measured %.1fs; %d processes, %d source addresses\n",
		rep.Mode, rep.Fans, len(rep.Nodes), rep.Rooms, rep.Publishers, rep.Rate, rep.WarmupSecs, rep.DurationSecs, rep.Workers, rep.Sources)
	if rep.Interrupted {
		b.WriteString("INTERRUPTED: the figures cover the run until then\n")
	}
	fmt.Fprintf(&b, "connect:    %d connected in %.1fs, %d failed\n", rep.Connected, rep.RampSecs, rep.ConnectFailures)
	p := rep.Publishes
	fmt.Fprintf(&b, "publishes:  %d sent (%d measured, %.1f/s; %d measured stored), %d acked, %d rejected, %d unsent, %d unanswered (%d of these stored after all), %d slots missed\n",
		p.Sent, p.Measured, p.PerSecond, p.StoredMeasured, p.Acked, p.Rejected, p.Unsent, p.Unanswered, p.StoredDespite, p.MissedSlots)
	a := rep.AckLatency
	fmt.Fprintf(&b, "acks:       %d measured, %.1f/s, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; errors: rate_limited %d, internal %d, unanswered (timeouts) %d\n",
		a.Count, a.PerSecond, a.P50Ms, a.P99Ms, a.MaxMs, rep.Errors["rate_limited"], rep.Errors["internal"], p.Unanswered)
	fmt.Fprintf(&b, "frames:     %d acks, error frames %s, %d undecodable, %d foreign messages\n",
		rep.Acks, benchkit.CountsString(rep.Errors), rep.BadFrames, rep.Foreign)
	fmt.Fprintf(&b, "conns:      disconnects %s, %d reconnects, %d failed reconnects\n",
		benchkit.CountsString(rep.Disconnects), rep.Reconnects, rep.ReconnectFailures)
	fmt.Fprintf(&b, "delivery:   %d duplicates, %d gaps, %d reordered\n\n", rep.Duplicates, rep.Gaps, rep.Reordered)

	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "from\tto\texpected\tdelivered\tlost\tmsgs/s\tp50 ms\tp99 ms\tmax ms\tmodel ms\t")
	row := func(ps PairStats) {
		model := "-"
		if ps.ModelMs != nil {
			model = fmt.Sprintf("%.1f", *ps.ModelMs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%s\t\n",
			ps.From, ps.To, ps.Expected, ps.Delivered, ps.Lost, ps.PerSecond, ps.P50Ms, ps.P99Ms, ps.MaxMs, model)
	}
	for _, ps := range rep.Pairs {
		row(ps)
	}
	row(rep.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Timeline) > 0 {
		b.WriteString("\nworst latency (ms) by second of the measured phase:\n")
		for i, sec := range rep.Timeline {
			sep := " "
			if i%10 == 9 || i == len(rep.Timeline)-1 {
				sep = "\n"
			}
			fmt.Fprintf(&b, "%7.0f%s", sec.MaxMs, sep)
		}
	}
	fmt.Fprintf(&b, "\nbench processes: %s\n", rep.Client)
	for _, s := range rep.Samples {
		fmt.Fprintf(&b, "sample error: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
