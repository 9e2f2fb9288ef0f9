package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

func TestExpectedDeliveries(t *testing.T) {
	// Room 0: 3 fans in seoul, 2 in frankfurt. Room 1: 1 fan in tokyo.
	roomFans := []map[string]int{
		{"seoul": 3, "frankfurt": 2},
		{"tokyo": 1},
	}
	pubs := []pubRoom{
		{region: "seoul", room: 0, stored: 10},
		{region: "frankfurt", room: 0, stored: 4},
		{region: "seoul", room: 1, stored: 7},
		{region: "tokyo", room: 1, stored: 0}, // connected, nothing stored
	}
	got := expectedDeliveries(pubs, roomFans)
	want := map[pairKey]int64{
		{"seoul", "seoul"}:         30,
		{"seoul", "frankfurt"}:     20,
		{"frankfurt", "seoul"}:     12,
		{"frankfurt", "frankfurt"}: 8,
		{"seoul", "tokyo"}:         7,
		{"tokyo", "tokyo"}:         0,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: got %d, want %d", k, got[k], v)
		}
	}
}

// within reports whether got is within 1 % (or 1 µs) of want: the
// histogram's precision.
func within(got, want time.Duration) bool {
	diff := math.Abs(float64(got - want))
	return diff <= 0.01*float64(want) || diff <= float64(time.Microsecond)
}

func TestBuildPairs(t *testing.T) {
	hist := map[pairKey]*benchkit.Histogram{}
	rec := func(k pairKey, ds ...time.Duration) {
		if hist[k] == nil {
			hist[k] = benchkit.NewHistogram()
		}
		for _, d := range ds {
			hist[k].Record(d)
		}
	}
	ms := time.Millisecond
	rec(pairKey{"frankfurt", "seoul"}, 120*ms, 130*ms, 140*ms, 150*ms)
	rec(pairKey{"seoul", "seoul"}, 1*ms, 2*ms)
	in := pairInput{
		hist: hist,
		expected: map[pairKey]int64{
			{"frankfurt", "seoul"}: 5, // one lost
			{"seoul", "seoul"}:     2,
			{"seoul", "tokyo"}:     3, // nothing arrived at all
			{"tokyo", "tokyo"}:     0, // nothing expected, nothing came: no row
		},
		model:    map[pairKey]time.Duration{{"frankfurt", "seoul"}: 118 * ms},
		duration: 2 * time.Second,
	}
	pairs, total := buildPairs(in)

	// regions.All order: seoul, tokyo, virginia, frankfurt; from first.
	var order []string
	for _, p := range pairs {
		order = append(order, p.From+">"+p.To)
	}
	if got, want := strings.Join(order, " "), "seoul>seoul seoul>tokyo frankfurt>seoul"; got != want {
		t.Fatalf("rows %q, want %q", got, want)
	}
	fs := pairs[2]
	if fs.Expected != 5 || fs.Delivered != 4 || fs.Lost != 1 || fs.PerSecond != 2 {
		t.Errorf("frankfurt>seoul counts: %+v", fs)
	}
	if !within(time.Duration(fs.P50Ms*1e6), 130*ms) || fs.MaxMs != 150 || fs.MeanMs != 135 {
		t.Errorf("frankfurt>seoul latency: p50 %v max %v mean %v", fs.P50Ms, fs.MaxMs, fs.MeanMs)
	}
	if fs.ModelMs == nil || *fs.ModelMs != 118 {
		t.Errorf("frankfurt>seoul model: %v", fs.ModelMs)
	}
	if st := pairs[1]; st.Delivered != 0 || st.Lost != 3 || st.P99Ms != 0 || st.ModelMs != nil {
		t.Errorf("seoul>tokyo: %+v", st)
	}
	if total.From != "all" || total.Expected != 10 || total.Delivered != 6 || total.Lost != 4 || total.PerSecond != 3 {
		t.Errorf("total counts: %+v", total)
	}
	if total.MaxMs != 150 || !within(time.Duration(total.P50Ms*1e6), 120*ms) {
		t.Errorf("total latency: p50 %v max %v", total.P50Ms, total.MaxMs)
	}
}

func TestReportRenders(t *testing.T) {
	model := 73.25
	rep := &Report{
		Fans: 40, Rooms: 2, Publishers: 8, Rate: 20, DurationSecs: 3,
		Nodes:  []benchkit.Node{{URL: "http://a", Name: "seoul-1", Region: "seoul"}},
		Errors: map[string]int{"rate_limited": 2, "internal": 1},
		Pairs: []PairStats{{From: "seoul", To: "virginia", Expected: 10, Delivered: 9, Lost: 1,
			PerSecond: 3, P50Ms: 80.5, P99Ms: 90, MaxMs: 91, ModelMs: &model}},
		Total:    PairStats{From: "all", To: "all", Expected: 10, Delivered: 9, Lost: 1},
		Timeline: []SecondStats{{Delivered: 5, MaxMs: 81.4}, {Delivered: 4, MaxMs: 1234}},
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"40 fans on 1 nodes", "internal=1 rate_limited=2", "80.50", "73.2", "lost", "     81    1234\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || back.Pairs[0].P50Ms != 80.5 || *back.Pairs[0].ModelMs != model {
		t.Errorf("JSON round trip: %v %+v", err, back.Pairs)
	}
}

func TestLatenciesMergeShards(t *testing.T) {
	l := newLatencies(4, 3)
	ms := time.Millisecond
	k := pairKey{"seoul", "tokyo"}
	l.record(0, k, 0, 20*ms)
	l.record(1, k, 0, 30*ms) // another shard, same second
	l.record(5, k, 2, 90*ms) // fan 5 is in shard 1
	l.record(2, pairKey{"tokyo", "tokyo"}, 2, 2*ms)
	l.record(3, k, 3, time.Second) // past the measured phase: histogram only
	l.record(3, k, -1, time.Second)

	tl := l.timeline()
	if len(tl) != 3 || tl[0].Delivered != 2 || tl[0].MaxMs != 30 || tl[1].Delivered != 0 || tl[2].Delivered != 2 || tl[2].MaxMs != 90 {
		t.Errorf("timeline %+v", tl)
	}
	h := l.merged()
	if h[k].Count() != 5 || h[k].Max() != time.Second || h[pairKey{"tokyo", "tokyo"}].Count() != 1 {
		t.Errorf("merged: %d values, max %v", h[k].Count(), h[k].Max())
	}
}
