package membership

import "testing"

// TestMemberPredicates pins who counts as live, up and kept: the callers
// (edges, HLS owners, the tree, announcements, chat sources) rely on
// these differences.
func TestMemberPredicates(t *testing.T) {
	for _, c := range []struct {
		name           string
		m              Member
		live, up, kept bool
	}{
		{"alive", Member{State: StateAlive}, true, true, true},
		{"alive, leaving", Member{State: StateAlive, Meta: Meta{Leaving: true}}, false, true, true},
		{"alive, bad metadata", Member{State: StateAlive, MetaError: "bad"}, false, false, false},
		{"dead", Member{State: StateDead}, false, false, true},
		{"dead, bad metadata", Member{State: StateDead, MetaError: "bad"}, false, false, false},
		{"left", Member{State: StateLeft, Meta: Meta{Leaving: true}}, false, false, false},
	} {
		if got := c.m.Live(); got != c.live {
			t.Errorf("%s: Live %v, want %v", c.name, got, c.live)
		}
		if got := c.m.Up(); got != c.up {
			t.Errorf("%s: Up %v, want %v", c.name, got, c.up)
		}
		if got := c.m.Kept(); got != c.kept {
			t.Errorf("%s: Kept %v, want %v", c.name, got, c.kept)
		}
	}
}
