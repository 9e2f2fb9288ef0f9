package membership

import (
	"fmt"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
	"github.com/relaymesh/relaymesh/mesh/link"
)

// nameCheck holds gossip to the identity model of mesh/pki: a node's name
// is the common name of its certificate. memberlist itself believes any
// name a peer gossips, so a node with a valid cluster certificate for
// "seoul-1" could join as "tokyo-1" and take over its place in the leaf
// tree and the cache-fill owners.
//
// Where this node holds a QUIC connection to a member's address, and a
// peer's source address is its mesh address, the link knows the
// certificate behind that address; a member whose gossip name differs is
// refused, whether it arrives in a join or push-pull (NotifyMerge) or in
// an alive message (NotifyAlive). A node that joins or announces itself
// always does so over its own connection, so an impostor is refused at
// the first node it talks to. An alive message relayed about an address
// this node has no connection to yet cannot be checked when it arrives;
// the transport refuses the push-pull streams memberlist opens to that
// name (transport.go), but probe packets are not checked, so such an
// entry (which needs a second address and a relay that accepted it) can
// stay listed while it answers probes. Its own later announcements, which
// come over its connection, are refused.
type nameCheck struct {
	ep       *link.Endpoint
	rejected *atomic.Uint64
}

var (
	_ memberlist.AliveDelegate = nameCheck{}
	_ memberlist.MergeDelegate = nameCheck{}
)

// check returns an error if the certificate at node's address names
// another node.
func (n nameCheck) check(node *memberlist.Node) error {
	cert, ok := n.ep.PeerNameAt(node.Address())
	if !ok || cert == node.Name {
		return nil
	}
	n.rejected.Add(1)
	return fmt.Errorf("member %q at %s presents a certificate for %q", node.Name, node.Address(), cert)
}

func (n nameCheck) NotifyAlive(node *memberlist.Node) error { return n.check(node) }

func (n nameCheck) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if err := n.check(p); err != nil {
			return err
		}
	}
	return nil
}
