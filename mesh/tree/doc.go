// Package tree chooses each relaymesh node's NATS leaf-node parent. It is
// pure code with no I/O: the mesh feeds it a node's current view of the
// membership and dials whatever parent it returns.
//
// # The rule
//
// Every node has a rank in one total order on node identities (see Less):
// first its region's rank from regions.Rank (0 is the most central region),
// then its name. Each node picks as parent the nearest live node of strictly
// higher rank in its own view; a node that knows no live node above it is a
// root. "Nearest" uses the RTT estimated from network coordinates when there
// is one and the regions model otherwise; ties go to the higher rank.
//
// # Why the union of all choices is loop-free
//
// Nodes never agree on the membership: gossip is eventually consistent, so at
// any moment each node may miss members, think live members dead or dead ones
// live, and hold different RTTs. The tree therefore cannot rely on views
// converging. It relies only on the order, which no view can change: Less
// depends on nothing but a node's name and region, both fixed for the node's
// lifetime and compiled-in region ranks, so every node computes the same order
// whatever it believes about liveness or distance.
//
// Every edge child→parent that any node adds, from any view, points from a
// node to one ranked strictly higher in that global order. A cycle
// n1→n2→…→nk→n1 would need rank(n1) < rank(n2) < … < rank(nk) < rank(n1),
// impossible in a strict total order. So the union of all nodes' edges, each
// node contributing at most one edge, is a forest whatever mix of stale views
// produced it: every path only climbs and must end at a root. Staleness can
// split the forest into several trees (a node whose view is missing everyone
// above it becomes a root) or pick a far parent, both of which heal as views
// converge; it can never make a loop, which in NATS leaf nodes would route
// messages around forever or duplicate them.
//
// The argument holds under two preconditions that the mesh provides:
//   - names are unique and a name's region never changes (both come from the
//     node's config and travel in its gossip metadata), so every view ranks a
//     given name the same way;
//   - every node runs the same region table, since ranks are compiled in. A
//     release that reorders or adds regions changes the order, and a mesh
//     mixing old and new binaries could then form a loop; such a change needs
//     the old nodes drained first.
//
// Ranking by region centrality puts the most central region's top node at the
// root, which keeps the longest path (and so chat latency) short; nearest-
// above keeps each hop cheap, so in the dev mesh Seoul hangs off Tokyo rather
// than off distant Virginia.
package tree
