package bench

import (
	"encoding/json"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

func hist(ds ...time.Duration) *benchkit.Histogram {
	h := benchkit.NewHistogram()
	for _, d := range ds {
		h.Record(d)
	}
	return h
}

// TestMergeTwoWorkers merges what two workers saw of one run: 2 rooms, 2
// publishers (fans 0 and 1, both in worker A), fans of each room in both
// workers. Publisher 1's seq 3 got no ack, yet a fan in worker B received
// it: it counts as stored, so A's fan that skipped it has a gap.
func TestMergeTwoWorkers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Fans, cfg.Rooms, cfg.Publishers, cfg.Rate = 8, 2, 2, 2
	cfg.Mesh = Mesh{Nodes: []benchkit.Node{{URL: "http://a", Name: "a", Region: "seoul"}}}
	ms := time.Millisecond
	started := time.Unix(1000, 0)
	a := &Partial{
		Started: started.Add(time.Second), RampSecs: 1, MeasuredSecs: 3,
		Connected: 4, ConnectFailures: 1, Acks: 9,
		Errors: map[string]int{"rate_limited": 1}, Disconnects: map[string]int{},
		Pubs: []PubResult{
			{Idx: 0, Sent: 5, MeasFirst: 2, MeasLast: 4, Acked: Ranges{{1, 4}}, Rejected: 1},
			{Idx: 1, Sent: 5, MeasFirst: 2, MeasLast: 4, Acked: Ranges{{1, 2}, {4, 5}}},
		},
		RoomFans:   []map[string]int{{"seoul": 2}, {"seoul": 2}},
		Seen:       map[int]Ranges{0: {{1, 4}}, 1: {{1, 2}, {4, 5}}},
		Missing:    []MissingRef{{Pub: 1, Seq: 3, Fans: 2}, {Pub: 0, Seq: 5, Fans: 2}}, // 0.5 was rejected: not a gap
		Latency:    []PairHist{{From: "seoul", To: "seoul", Hist: hist(1*ms, 2*ms)}},
		AckLatency: hist(1 * ms),
		Timeline:   []SecondStats{{Delivered: 2, MaxMs: 2}},
		Duplicates: 1,
		Client:     benchkit.ClientUsage{CPUUserSecs: 1, MaxRSSMiB: 10},
	}
	b := &Partial{
		Started: started, RampSecs: 2, MeasuredSecs: 3,
		Connected: 3, Acks: 0,
		Errors: map[string]int{"rate_limited": 2, "internal": 1}, Disconnects: map[string]int{"eof": 1},
		RoomFans:   []map[string]int{{"seoul": 1, "tokyo": 1}, {"seoul": 1}},
		Seen:       map[int]Ranges{0: {{1, 4}}, 1: {{1, 5}}},
		Latency:    []PairHist{{From: "seoul", To: "seoul", Hist: hist(3*ms, 4*ms, 5*ms)}, {From: "seoul", To: "tokyo", Hist: hist(9 * ms)}},
		AckLatency: hist(3 * ms),
		Timeline:   []SecondStats{{Delivered: 1, MaxMs: 5}, {Delivered: 3, MaxMs: 1}},
		Reordered:  2, Overflow: 1,
		Client: benchkit.ClientUsage{CPUUserSecs: 2, MaxRSSMiB: 20},
	}
	// Through JSON, as workers send them.
	var parts []*Partial
	for _, p := range []*Partial{a, b} {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var got Partial
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, &got)
	}
	rep := Merge(cfg, parts)

	if rep.Workers != 2 || rep.Connected != 7 || rep.ConnectFailures != 1 || rep.Acks != 9 || !rep.Started.Equal(started) || rep.RampSecs != 2 {
		t.Errorf("counts: workers %d connected %d failures %d acks %d started %v ramp %v", rep.Workers, rep.Connected, rep.ConnectFailures, rep.Acks, rep.Started, rep.RampSecs)
	}
	if rep.Errors["rate_limited"] != 3 || rep.Errors["internal"] != 1 || rep.Disconnects["eof"] != 1 {
		t.Errorf("errors %v, disconnects %v", rep.Errors, rep.Disconnects)
	}
	// Gaps: 1.3 stored (seen in B) and missed by 2 fans of A, plus B's overflow.
	if rep.Gaps != 3 || rep.Duplicates != 1 || rep.Reordered != 2 {
		t.Errorf("gaps %d (want 3), duplicates %d, reordered %d", rep.Gaps, rep.Duplicates, rep.Reordered)
	}
	p := rep.Publishes
	if p.Sent != 10 || p.Measured != 6 || p.Acked != 8 || p.StoredMeasured != 6 || p.StoredDespite != 1 || p.Rejected != 1 {
		t.Errorf("publishes %+v", p)
	}
	// Expected: 6 stored measured publishes, 3 per room; room 0 has 3
	// seoul fans and 1 tokyo fan, room 1 has 3 seoul fans.
	if rep.Total.Expected != 3*4+3*3 || rep.Total.Delivered != 6 {
		t.Errorf("total expected %d delivered %d", rep.Total.Expected, rep.Total.Delivered)
	}
	if len(rep.Pairs) != 2 || rep.Pairs[0].To != "seoul" || rep.Pairs[0].Delivered != 5 || rep.Pairs[1].Delivered != 1 {
		t.Errorf("pairs %+v", rep.Pairs)
	}
	if !within(time.Duration(rep.Total.MaxMs*float64(ms)), 9*ms) || !within(time.Duration(rep.Total.P50Ms*float64(ms)), 3*ms) {
		t.Errorf("total latency %+v", rep.Total)
	}
	if rep.AckLatency.Count != 2 || rep.AckLatency.MaxMs != 3 {
		t.Errorf("ack latency %+v", rep.AckLatency)
	}
	if len(rep.Timeline) != 2 || rep.Timeline[0].Delivered != 3 || rep.Timeline[0].MaxMs != 5 || rep.Timeline[1].Delivered != 3 {
		t.Errorf("timeline %+v", rep.Timeline)
	}
	if rep.Client.CPUUserSecs != 3 || rep.Client.MaxRSSMiB != 30 {
		t.Errorf("client %+v", rep.Client)
	}
}

func TestDrainDone(t *testing.T) {
	for _, tc := range []struct {
		sts  []DrainStatus
		want bool
	}{
		{nil, true},
		{[]DrainStatus{{Measured: 5, Want: 10}, {Measured: 5}}, true},         // a worker without publishers
		{[]DrainStatus{{Measured: 5, Want: 10}, {Measured: 4}}, false},        // one delivery short
		{[]DrainStatus{{Measured: 10, Want: 10, Pending: 1}, {}}, false},      // a publish awaits its answer
		{[]DrainStatus{{Measured: 3, Want: 2}, {Measured: 0, Want: 1}}, true}, // deliveries count wherever they land
	} {
		if got := DrainDone(tc.sts); got != tc.want {
			t.Errorf("DrainDone(%+v) = %v, want %v", tc.sts, got, tc.want)
		}
	}
}

func TestRanges(t *testing.T) {
	var rs Ranges
	for _, x := range []uint64{1, 2, 3, 5, 7, 8} {
		rs = rs.add(x)
	}
	if len(rs) != 3 || rs.count() != 6 {
		t.Fatalf("ranges %v, count %d", rs, rs.count())
	}
	for x := uint64(0); x <= 9; x++ {
		want := x == 1 || x == 2 || x == 3 || x == 5 || x == 7 || x == 8
		if rs.has(x) != want {
			t.Errorf("has(%d) = %v", x, rs.has(x))
		}
	}
}

func TestFanRange(t *testing.T) {
	for _, tc := range []struct{ fans, n int }{{100000, 7}, {40, 2}, {5, 5}, {1, 1}, {14999, 1}} {
		next := 0
		for w := range tc.n {
			from, to := FanRange(tc.fans, w, tc.n)
			if from != next || to-from > MaxFansPerWorker || to-from < tc.fans/tc.n {
				t.Errorf("%d fans, worker %d of %d: [%d, %d)", tc.fans, w, tc.n, from, to)
			}
			next = to
		}
		if next != tc.fans {
			t.Errorf("%d fans over %d workers cover %d", tc.fans, tc.n, next)
		}
	}
	if WorkersFor(100000) != 7 || WorkersFor(15000) != 1 || WorkersFor(15001) != 2 || WorkersFor(0) != 1 {
		t.Errorf("WorkersFor: %d %d %d", WorkersFor(100000), WorkersFor(15000), WorkersFor(15001))
	}
}

func TestSourceAssignment(t *testing.T) {
	addrs, err := SourceAddrs(netip.MustParseAddr("127.0.0.254"), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"}
	for i, a := range addrs {
		if a.String() != want[i] {
			t.Errorf("address %d: %v, want %s", i, a, want[i])
		}
	}
	if _, err := SourceAddrs(netip.MustParseAddr("127.255.255.255"), 2); err == nil {
		t.Error("ran past 127/8 without an error")
	}
	if _, err := SourceAddrs(netip.MustParseAddr("::1"), 1); err == nil {
		t.Error("IPv6 accepted")
	}
	for _, tc := range []struct {
		fans, pubs  int
		rate, perIP float64
		want        int
	}{
		{100000, 40, 100, 0, 5},     // 20,000 connections each
		{1000, 40, 100, 0, 1},       // one address is enough
		{1000, 1000, 5000, 5, 1000}, // publish mode: 1,250 wanted, one publisher per address at most
		{2000, 2000, 5000, 5, 1250}, // 4 msg/s per address
		{100, 40, 100, 100000, 1},   // relaymesh dev --chat-rate 100000
	} {
		if got := SourcesNeeded(tc.fans, tc.pubs, tc.rate, tc.perIP); got != tc.want {
			t.Errorf("SourcesNeeded(%d, %d, %g, %g) = %d, want %d", tc.fans, tc.pubs, tc.rate, tc.perIP, got, tc.want)
		}
	}
	// Round-robin: no address has more than its share, and publishers
	// (the first fans) spread one per address.
	per := map[int]int{}
	for i := range 100000 {
		per[sourceOf(i, SourcesNeeded(100000, 40, 100, 0))]++
	}
	for s, n := range per {
		if n > MaxFansPerSource {
			t.Errorf("source %d carries %d fans", s, n)
		}
	}
	if sourceOf(0, 4) == sourceOf(1, 4) || sourceOf(3, 4) != 3 {
		t.Error("publishers 0 and 1 share an address")
	}
}

// TestDialersBindTheirAddress checks what the server sees: each dialer's
// connections come from its own source address.
func TestDialersBindTheirAddress(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addrs, _ := SourceAddrs(netip.MustParseAddr("127.0.0.2"), 2)
	for i, d := range dialers(addrs) {
		c, err := d.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		host, _, _ := net.SplitHostPort(s.RemoteAddr().String())
		s.Close()
		c.Close()
		if host != addrs[i].String() {
			t.Errorf("dialer %d came from %s, want %v", i, host, addrs[i])
		}
	}
}

// TestRunWorkersFailsFastOnABrokenWorker: a worker that dies before its
// ramp ends fails the run at once, naming it, instead of waiting out the
// ramp.
func TestRunWorkersFailsFastOnABrokenWorker(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Fans, cfg.Publishers = 4, 1
	cfg.Mesh = Mesh{Nodes: []benchkit.Node{{URL: "http://127.0.0.1:1", Name: "a", Region: "seoul"}}}
	start := time.Now()
	_, err := RunWorkers(t.Context(), cfg, Workers{N: 2, Command: func() *exec.Cmd {
		return exec.Command("sh", "-c", "head -n 1 >/dev/null; exit 3") // reads its config, never reports
	}})
	if err == nil || !strings.Contains(err.Error(), "ended before its ramp did") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %v: waited for the ramp", took)
	}
}

// TestNodeOfSpreadsRoomsAndPublishers: every room's fans, and the
// publishers, are spread evenly over the nodes, including with as many
// publishers as rooms (where they once all landed on the first node).
func TestNodeOfSpreadsRoomsAndPublishers(t *testing.T) {
	for _, c := range []struct{ fans, rooms, pubs, nodes int }{
		{100_000, 200, 200, 8}, {5000, 10, 40, 4}, {1000, 10, 10, 4}, {12, 3, 3, 4},
	} {
		perRoom := make([][]int, c.rooms)
		for r := range perRoom {
			perRoom[r] = make([]int, c.nodes)
		}
		pubs := make([]int, c.nodes)
		for i := range c.fans {
			n := nodeOf(i, c.rooms, c.nodes)
			perRoom[i%c.rooms][n]++
			if i < c.pubs {
				pubs[n]++
			}
		}
		if lo, hi := slices.Min(pubs), slices.Max(pubs); hi-lo > 1 {
			t.Errorf("%+v: publishers per node %v", c, pubs)
		}
		for r, per := range perRoom {
			if lo, hi := slices.Min(per), slices.Max(per); hi-lo > 1 {
				t.Errorf("%+v: room %d's fans per node %v", c, r, per)
			}
		}
	}
}
