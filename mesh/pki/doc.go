// Package pki is the cluster's certificate authority: it creates the CA,
// issues node certificates and builds the mutual-TLS configs that every QUIC
// link between relaymesh nodes uses.
//
// Trust is "signed by the cluster CA", not "named after the address dialled":
// nodes reach each other by IP:port (elastic IPs, NAT, loopback in dev), so a
// node's identity is its certificate's common name, which the mesh compares
// with the name gossiped for that peer (mesh/membership, names.go: a member
// whose gossip name is not its certificate's is refused). Everything is ECDSA P-256 and
// standard library only.
package pki
