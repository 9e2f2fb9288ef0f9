package tree

import (
	"testing"
	"time"
)

var (
	tokyo     = Node{"tokyo-1", "tokyo"}
	virginia  = Node{"virginia-1", "virginia"}
	seoul     = Node{"seoul-1", "seoul"}
	frankfurt = Node{"frankfurt-1", "frankfurt"}
)

// live returns a view in which every node is alive and has no coordinate
// estimate, so Parent falls back to the regions model.
func live(ns ...Node) []Candidate {
	v := make([]Candidate, len(ns))
	for i, n := range ns {
		v[i] = Candidate{Node: n, Alive: true}
	}
	return v
}

func withRTT(n Node, ms int) Candidate {
	return Candidate{Node: n, Alive: true, RTT: time.Duration(ms) * time.Millisecond, HasRTT: true}
}

// parents maps every node to its parent's name ("" for a root), each node
// using the same full view.
func parents(view []Candidate) map[string]string {
	got := make(map[string]string)
	for _, c := range view {
		p, ok := Parent(c.Node, view)
		if ok {
			got[c.Name] = p.Name
		} else {
			got[c.Name] = ""
		}
	}
	return got
}

func TestParentDevMesh(t *testing.T) {
	got := parents(live(seoul, tokyo, virginia, frankfurt))
	want := map[string]string{
		"tokyo-1":     "",
		"seoul-1":     "tokyo-1",    // 34.6 ms beats virginia's 174.8
		"virginia-1":  "tokyo-1",    // the only region above it
		"frankfurt-1": "virginia-1", // 90.6 ms beats tokyo 225.1 and seoul 231.3
	}
	assertParents(t, got, want)
}

func TestParentTwoPerRegion(t *testing.T) {
	var ns []Node
	for _, r := range []string{"frankfurt", "seoul", "virginia", "tokyo"} {
		ns = append(ns, Node{r + "-b", r}, Node{r + "-a", r})
	}
	got := parents(live(ns...))
	want := map[string]string{
		"tokyo-a":     "",
		"tokyo-b":     "tokyo-a",    // same region, 1 ms
		"virginia-a":  "tokyo-a",    // tokyo-a and -b tie at 146.5 ms: higher rank wins
		"virginia-b":  "virginia-a", // its own region's leader is nearer than tokyo
		"seoul-a":     "tokyo-a",
		"seoul-b":     "seoul-a",
		"frankfurt-a": "virginia-a",
		"frankfurt-b": "frankfurt-a",
	}
	assertParents(t, got, want)
}

func TestParent(t *testing.T) {
	mars := Node{"mars-1", "mars"}
	for _, tc := range []struct {
		name string
		self Node
		view []Candidate
		want string // "" for a root
	}{
		{"empty view is a root", seoul, nil, ""},
		{"only lower ranks is a root", virginia, live(seoul, frankfurt), ""},
		{"self ignored", tokyo, live(tokyo), ""},
		{"self under another region ignored", Node{"x", "frankfurt"}, live(Node{"x", "tokyo"}), ""},
		{"dead nearest skipped", seoul, []Candidate{{Node: tokyo}, {Node: virginia, Alive: true}}, "virginia-1"},
		{"all above dead is a root", seoul, []Candidate{{Node: tokyo}, {Node: virginia}}, ""},
		{"measured RTT beats model", frankfurt, append(live(virginia), withRTT(tokyo, 80)), "tokyo-1"},
		{"measured RTT can lose to model", frankfurt, append(live(virginia), withRTT(tokyo, 91)), "virginia-1"},
		{"zero estimate counts", frankfurt, append(live(virginia), withRTT(seoul, 0)), "seoul-1"},
		{"RTT tie goes to higher rank", frankfurt, []Candidate{withRTT(seoul, 50), withRTT(virginia, 50), withRTT(tokyo, 50)}, "tokyo-1"},
		{"model tie goes to higher rank", frankfurt, live(Node{"virginia-b", "virginia"}, Node{"virginia-a", "virginia"}), "virginia-a"},
		{"unknown region candidate ranks below", frankfurt, live(mars), ""},
		{"unknown self without RTTs takes highest rank", mars, live(frankfurt, seoul, tokyo), "tokyo-1"},
		{"unknown self uses estimates", mars, append(live(tokyo), withRTT(frankfurt, 10)), "frankfurt-1"},
		{"unknown regions order by name", Node{"b", "venus"}, live(Node{"a", "mars"}), "a"},
		{"any estimate beats no model entry", mars, append(live(tokyo), withRTT(Node{"a", "venus"}, 500)), "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Parent(tc.self, tc.view)
			got := ""
			if ok {
				got = p.Name
			}
			if got != tc.want {
				t.Fatalf("Parent(%v) = %q, want %q", tc.self, got, tc.want)
			}
		})
	}
}

func assertParents(t *testing.T, got, want map[string]string) {
	t.Helper()
	for n, w := range want {
		if got[n] != w {
			t.Errorf("parent of %s = %q, want %q", n, got[n], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d nodes, want %d: %v", len(got), len(want), got)
	}
}
