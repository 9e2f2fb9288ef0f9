package cache

import (
	"slices"
	"testing"
)

func TestLRUOrderAndByteBound(t *testing.T) {
	var evicted []string
	l := newLRU(30, func(key string, _ int) { evicted = append(evicted, key) })
	l.add("a", 1, 10)
	l.add("b", 2, 10)
	l.add("c", 3, 10)
	if l.size() != 30 || l.len() != 3 {
		t.Fatalf("size %d len %d, want 30 3", l.size(), l.len())
	}
	if _, ok := l.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	l.add("d", 4, 10) // evicts b, the least recently used
	if !slices.Equal(evicted, []string{"b"}) {
		t.Fatalf("evicted %v, want [b]", evicted)
	}
	if _, ok := l.peek("b"); ok {
		t.Fatal("b still present")
	}
	// peek does not touch: c stays the oldest.
	l.peek("c")
	if k, _ := l.oldest(); k != "c" {
		t.Fatalf("oldest %q, want c", k)
	}
	// One item can evict several.
	l.add("e", 5, 25)
	if !slices.Equal(evicted, []string{"b", "c", "a", "d"}) {
		t.Fatalf("evicted %v", evicted)
	}
	if l.size() != 25 || l.len() != 1 || l.evictions != 4 {
		t.Fatalf("size %d len %d evictions %d", l.size(), l.len(), l.evictions)
	}
}

func TestLRUReplaceAdjustsSize(t *testing.T) {
	l := newLRU[int](100, nil)
	l.add("a", 1, 40)
	l.add("a", 2, 10)
	if v, _ := l.get("a"); v != 2 || l.size() != 10 || l.len() != 1 {
		t.Fatalf("v %d size %d len %d", v, l.size(), l.len())
	}
	if _, ok := l.remove("a"); !ok || l.size() != 0 || l.len() != 0 {
		t.Fatalf("remove: ok %v size %d", ok, l.size())
	}
	if _, ok := l.remove("a"); ok {
		t.Fatal("second remove reported ok")
	}
	if l.evictions != 0 {
		t.Fatalf("replace and remove counted as evictions: %d", l.evictions)
	}
}

func TestLRUItemBiggerThanBound(t *testing.T) {
	var evicted []string
	l := newLRU(30, func(key string, _ int) { evicted = append(evicted, key) })
	l.add("a", 1, 10)
	l.add("b", 2, 10)
	if l.add("huge", 3, 31) {
		t.Fatal("item bigger than the bound was added")
	}
	if len(evicted) != 0 || l.len() != 2 || l.size() != 20 {
		t.Fatalf("huge item disturbed the cache: evicted %v len %d size %d", evicted, l.len(), l.size())
	}
	// Replacing a key with an oversized value drops the stale value.
	if l.add("a", 9, 31) {
		t.Fatal("oversized replacement was added")
	}
	if _, ok := l.peek("a"); ok || l.size() != 10 {
		t.Fatalf("stale a kept: size %d", l.size())
	}
	// Exactly the bound fits.
	if !l.add("full", 4, 30) || l.size() != 30 || l.len() != 1 {
		t.Fatalf("item of exactly the bound: size %d len %d", l.size(), l.len())
	}
}
