// Package link carries all traffic between relaymesh nodes over QUIC on one
// UDP socket: unreliable datagrams (gossip probes) and reliable streams
// (gossip state exchange, and later NATS leaf connections and cache fill).
//
// Wire layout (see docs/mesh-protocol.md for the full description):
//
//   - Every connection negotiates ALPN "relaymesh/1" under mutual TLS with
//     certificates of the cluster CA.
//   - Every bidirectional stream starts with one byte, the stream kind,
//     written by the opener. The rest of the stream belongs to the handler of
//     that kind.
//   - Every datagram starts with one byte, the datagram kind, followed by the
//     payload. A payload too large for a QUIC datagram travels instead on a
//     unidirectional stream: kind byte, payload, FIN.
package link

// ALPN is the application protocol negotiated on every mesh connection.
// Bump the version when the framing below changes incompatibly.
const ALPN = "relaymesh/1"

// Kind tags a stream or a datagram with the component that owns it.
type Kind byte

const (
	// KindGossip carries memberlist: datagrams are its packets (probes,
	// acks, gossip), streams its push-pull state exchanges.
	KindGossip Kind = 1
	// KindLeaf carries a NATS leaf-node connection (chat relay).
	KindLeaf Kind = 2
	// KindFetch carries an HLS cache fill request between edges.
	KindFetch Kind = 3
	// KindAnnounce carries one announcement from a node to a peer (a live
	// playlist update), written whole and closed.
	KindAnnounce Kind = 4
	// KindFetchCached is KindFetch answered from the server's cache only:
	// the server never fills on a miss, so a fetch of this kind can never
	// be forwarded, let alone loop (edges ask the ingest node with it).
	KindFetchCached Kind = 5
)

func (k Kind) String() string {
	switch k {
	case KindGossip:
		return "gossip"
	case KindLeaf:
		return "leaf"
	case KindFetch:
		return "fetch"
	case KindAnnounce:
		return "announce"
	case KindFetchCached:
		return "fetch-cached"
	default:
		return "unknown"
	}
}

// QUIC application error codes used when closing streams and connections.
const (
	codeNone        = 0x0 // normal close
	codeUnknownKind = 0x1 // the stream or datagram kind has no handler
	codeShutdown    = 0x2 // the endpoint is shutting down
	codeReplaced    = 0x3 // a newer connection to the same peer took over
)

// maxUniPayload bounds a datagram sent on a unidirectional stream because it
// did not fit a QUIC datagram. Gossip packets are far smaller; the bound
// keeps a misbehaving peer from making us buffer without limit.
const maxUniPayload = 64 << 10
