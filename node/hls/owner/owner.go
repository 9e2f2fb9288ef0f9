// Package owner decides which node of the mesh is responsible for filling
// an HLS object, so that many edges asking for the same missing segment
// cause one origin GET instead of one each.
//
// It uses rendezvous (highest-random-weight) hashing: every node scores
// every (node, key) pair with the same stable hash, and the key's owner is
// the node with the highest score. Two properties follow, and the tests
// check both:
//
//   - Agreement: every node that holds the same member list computes the same
//     owner, with no coordination beyond gossip (the order of the list does
//     not matter).
//   - Minimal movement: removing a node moves only the keys that node owned
//     (each to the node with the next-highest score); adding one moves only
//     the keys it now wins. Keys spread evenly over the nodes.
//
// The package is pure: no I/O, no clock, no randomness, safe for concurrent
// use.
package owner

// FNV-1a 64-bit parameters (hash/fnv). The package inlines the loop instead
// of using hash/fnv so that a key's hash state can be reused for every node
// without allocations.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Owner returns the node of nodes with the highest score for key, and false
// when nodes is empty. Empty names are ignored. The result does not depend
// on the order of nodes or on duplicates in it.
func Owner(key string, nodes []string) (string, bool) {
	kh := keyHash(key)
	var (
		best      string
		bestScore uint64
		found     bool
	)
	for _, n := range nodes {
		if n == "" {
			continue
		}
		s := score(kh, n)
		if !found || better(s, n, bestScore, best) {
			best, bestScore, found = n, s, true
		}
	}
	return best, found
}

// better orders candidates: the higher score wins, and on the (astronomically
// unlikely) tie the smaller name, so that every node still agrees.
func better(s uint64, name string, bestScore uint64, best string) bool {
	if s != bestScore {
		return s > bestScore
	}
	return name < best
}

// keyHash is the FNV-1a state after the key and a 0 separator; score
// continues it with the node name. The separator keeps ("ab","c") and
// ("a","bc") apart; keys are validated object keys and never contain NUL.
func keyHash(key string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= fnvPrime64
	}
	h *= fnvPrime64 // the separator byte 0: h ^= 0 is a no-op
	return h
}

// score is the rendezvous weight of node for the key whose state is kh:
// FNV-1a over key, 0, node, then a 64-bit finalizer (MurmurHash3's fmix64).
// FNV-1a alone mixes its last bytes poorly, and node names often differ
// only in their last character ("seoul-1", "seoul-2"); without the finalizer
// such nodes would get visibly unequal shares of the keys.
func score(kh uint64, node string) uint64 {
	h := kh
	for i := 0; i < len(node); i++ {
		h ^= uint64(node[i])
		h *= fnvPrime64
	}
	return fmix64(h)
}

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
