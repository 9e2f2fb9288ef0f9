package owner

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func nodeNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	return out
}

func segKey(i int) string { return fmt.Sprintf("live/1080p/seg-%06d.m4s", i) }

func TestOwnerEmpty(t *testing.T) {
	if o, ok := Owner("a/b", nil); ok || o != "" {
		t.Fatalf("Owner over no nodes = %q, %v; want \"\", false", o, ok)
	}
	if o, ok := Owner("a/b", []string{"", ""}); ok || o != "" {
		t.Fatalf("Owner over empty names = %q, %v; want \"\", false", o, ok)
	}
	if o, ok := Owner("a/b", []string{"", "only"}); !ok || o != "only" {
		t.Fatalf("Owner over one node = %q, %v; want only, true", o, ok)
	}
}

// Every node must compute the same owner from the same members, whatever
// order its view lists them in.
func TestOwnerDeterministic(t *testing.T) {
	nodes := nodeNames("seoul", 7)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		key := segKey(i)
		want, _ := Owner(key, nodes)
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		shuffled = append(shuffled, shuffled[0]) // a duplicate changes nothing
		if got, _ := Owner(key, shuffled); got != want {
			t.Fatalf("key %q: owner %q in one order, %q in another", key, want, got)
		}
	}
}

// The hash is part of the protocol: nodes of different versions in one
// mesh must agree, so its output is pinned (FNV-1a 64 over key, NUL,
// node, then fmix64; checked against an independent implementation).
func TestScorePinned(t *testing.T) {
	for _, c := range []struct {
		key, node string
		want      uint64
	}{
		{"demo/index.m3u8", "seoul-1", 0xf2bc3c3b8eb5d592},
		{"demo/seg-000001.ts", "tokyo-2", 0x557aabe9a404c59},
		{"", "", 0xb9034ad37056f5fb},
	} {
		if got := score(keyHash(c.key), c.node); got != c.want {
			t.Errorf("score(%q, %q) = %#x, want %#x", c.key, c.node, got, c.want)
		}
	}
}

// Keys spread evenly: with n nodes each owns about 1/n of them.
func TestOwnerBalance(t *testing.T) {
	const keys = 60000
	for _, n := range []int{2, 3, 4, 8, 16} {
		nodes := nodeNames("frankfurt", n)
		count := map[string]int{}
		for i := range keys {
			o, _ := Owner(segKey(i), nodes)
			count[o]++
		}
		want := float64(keys) / float64(n)
		// 5 % of the mean is many standard deviations (sqrt(want)/want
		// is under 2 % for every n here), so a failure means bias.
		for _, node := range nodes {
			if dev := math.Abs(float64(count[node])-want) / want; dev > 0.05 {
				t.Errorf("%d nodes: %s owns %d keys, want %.0f ± 5%% (counts %v)", n, node, count[node], want, count)
			}
		}
	}
}

// Removing a node moves only the keys it owned; adding one moves only the
// keys it takes.
func TestOwnerMinimalMovement(t *testing.T) {
	nodes := nodeNames("virginia", 5)
	removed := nodes[2]
	rest := slices.Delete(slices.Clone(nodes), 2, 3)
	moved := 0
	for i := range 20000 {
		key := segKey(i)
		before, _ := Owner(key, nodes)
		after, _ := Owner(key, rest)
		if before == removed {
			moved++
			if after == removed {
				t.Fatalf("key %q still owned by removed node", key)
			}
			continue
		}
		if after != before {
			t.Fatalf("key %q moved from %s to %s although %s was removed", key, before, after, removed)
		}
	}
	if moved == 0 {
		t.Fatal("the removed node owned no keys")
	}
	// Adding back is the same relation read the other way round.
	for i := range 20000 {
		key := segKey(i)
		before, _ := Owner(key, rest)
		after, _ := Owner(key, nodes)
		if after != before && after != removed {
			t.Fatalf("key %q moved from %s to %s when %s joined", key, before, after, removed)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	nodes := nodeNames("tokyo", 8)
	key := "live/1080p/seg-000123.m4s"
	for b.Loop() {
		Owner(key, nodes)
	}
}
