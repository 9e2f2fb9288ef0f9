package owner

import (
	"fmt"
	"testing"
)

// mesh builds members "<region>-<i>" with address "<name>:7946".
func mesh(perRegion map[string]int) []Member {
	var out []Member
	for _, r := range []string{"seoul", "tokyo", "virginia", "frankfurt"} {
		for i := 1; i <= perRegion[r]; i++ {
			name := fmt.Sprintf("%s-%d", r, i)
			out = append(out, Member{Name: name, Region: r, Addr: name + ":7946"})
		}
	}
	return out
}

func member(ms []Member, name string) Member {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return Member{}
}

// ownerIn is the key's owner among the members of region.
func ownerIn(key, region string, ms []Member) string {
	var names []string
	for _, m := range ms {
		if m.Region == region {
			names = append(names, m.Name)
		}
	}
	o, _ := Owner(key, names)
	return o
}

func regionOf(name string) string {
	for i := range name {
		if name[i] == '-' {
			return name[:i]
		}
	}
	return name
}

func TestPlan(t *testing.T) {
	ms := mesh(map[string]int{"seoul": 4, "tokyo": 4, "virginia": 1, "frankfurt": 2})
	const key = "demo/seg-000042.ts"
	seoulOwner := ownerIn(key, "seoul", ms)
	tokyoOwner := ownerIn(key, "tokyo", ms)
	var seoulOther string
	for _, m := range ms {
		if m.Region == "seoul" && m.Name != seoulOwner {
			seoulOther = m.Name
			break
		}
	}

	for _, c := range []struct {
		name   string
		self   string
		shield string
		ms     []Member
		want   Route
	}{
		{"non-owner asks its region's owner", seoulOther, "", ms,
			Route{Via: ViaRegionOwner, Peer: member(ms, seoulOwner)}},
		{"non-owner asks its region's owner even with a shield", seoulOther, "tokyo", ms,
			Route{Via: ViaRegionOwner, Peer: member(ms, seoulOwner)}},
		{"owner without shield asks the origin", seoulOwner, "", ms,
			Route{Via: ViaOrigin}},
		{"owner outside the shield asks the shield's owner", seoulOwner, "tokyo", ms,
			Route{Via: ViaShield, Peer: member(ms, tokyoOwner)}},
		{"owner in the shield region asks the origin", tokyoOwner, "tokyo", ms,
			Route{Via: ViaOrigin}},
		{"single-node region owns everything, no shield", "virginia-1", "", ms,
			Route{Via: ViaOrigin}},
		{"single-node region owns everything, shield elsewhere", "virginia-1", "tokyo", ms,
			Route{Via: ViaShield, Peer: member(ms, tokyoOwner)}},
		{"single-node shield region", seoulOwner, "virginia", ms,
			Route{Via: ViaShield, Peer: member(ms, "virginia-1")}},
		{"shield region without live members: origin", seoulOwner, "frankfurt",
			mesh(map[string]int{"seoul": 4, "tokyo": 4}), Route{Via: ViaOrigin}},
		{"self missing from members still counts", "seoul-9", "", nil,
			Route{Via: ViaOrigin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Plan(key, c.self, regionOf(c.self), c.ms, c.shield)
			if got != c.want {
				t.Fatalf("Plan(%s, shield %q) = %v %+v, want %v %+v", c.self, c.shield, got.Via, got.Peer, c.want.Via, c.want.Peer)
			}
		})
	}
}

// Across many keys: every node of a region names the same owner, the owner
// never asks itself, and with a shield each region's owner asks the same
// shield node, so one origin GET serves the whole mesh.
func TestPlanConverges(t *testing.T) {
	ms := mesh(map[string]int{"seoul": 4, "tokyo": 3, "virginia": 2, "frankfurt": 1})
	for _, shield := range []string{"", "tokyo", "frankfurt"} {
		for i := range 200 {
			key := segKey(i)
			originAskers := map[string]bool{}
			for _, self := range ms {
				// Follow the route to its end, as nodes would, each hop
				// after the first acting as the owner it was asked as.
				hops, at := 0, self
				r := Plan(key, self.Name, self.Region, ms, shield)
				for r.Via != ViaOrigin {
					if r.Peer.Name == at.Name {
						t.Fatalf("key %q shield %q: %s routes to itself", key, shield, at.Name)
					}
					hops++
					at = r.Peer
					r = OwnerRoute(key, at.Name, at.Region, ms, shield)
				}
				if hops > 2 {
					t.Fatalf("key %q shield %q: %d hops from %s", key, shield, hops, self.Name)
				}
				originAskers[at.Name] = true
			}
			want := 4 // one per region
			if shield != "" {
				want = 1
			}
			if len(originAskers) != want {
				t.Fatalf("key %q shield %q: origin asked by %v, want %d node(s)", key, shield, originAskers, want)
			}
		}
	}
}

func TestViaString(t *testing.T) {
	for v, want := range map[Via]string{ViaOrigin: "origin", ViaRegionOwner: "region-owner", ViaShield: "shield", Via(9): "unknown"} {
		if v.String() != want {
			t.Errorf("Via(%d).String() = %q, want %q", int(v), v.String(), want)
		}
	}
}
