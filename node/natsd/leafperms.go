package natsd

import "github.com/nats-io/nats-server/v2/server"

// What may cross a leaf link. This is the one place that lists it: a new
// subject family that must travel between nodes is added here, or it does
// not travel.
//
// A leaf connection carries the traffic of the child's whole subtree (in
// seoul → tokyo ← virginia ← frankfurt, frankfurt's traffic reaches tokyo
// on virginia's connection), and the subtree changes whenever the tree
// re-forms. So the lists cannot name the child's subtree; they name subject
// families, and only chat.o is narrowed to the child itself, because
// nothing in the design needs another node's chat.o subjects on a link.
//
// Permissions are from the child's side, as in nats-server: Publish is what
// the child may send into this node, Subscribe what this node delivers to
// it (and which interest the child may register). A child is told its
// permissions when it connects and drops what they forbid before sending,
// so a legitimate node is never cut off for them.
var linkSubjects = []string{
	// Presence reports (node/chat/presence.go): every node publishes
	// chat.presence.<node> and every node sums them, so reports of the
	// whole subtree travel on each link. A member could misreport
	// another's counts; they are only counts and are never stored.
	"chat.presence.*",

	// JetStream stream sourcing across domains (node/chat/store.go): ROOMS
	// of every node sources ORIGIN of every other node. The sourcing
	// server asks the origin's domain to create (and later delete) a push
	// consumer on ORIGIN. Only ORIGIN, and only these two calls: every
	// other API call ($JS.<domain>.API.STREAM.DELETE.ROOMS, ...) stays
	// inside its node. nats-server itself keeps $JS.API.> (no domain) off
	// links between different domains.
	"$JS.*.API.CONSUMER.CREATE.ORIGIN",
	"$JS.*.API.CONSUMER.CREATE.ORIGIN.>", // the form with a consumer name and filter
	"$JS.*.API.CONSUMER.DELETE.ORIGIN.*",
	// The consumer's deliveries, idle heartbeats and flow-control
	// requests, on the deliver subject the sourcing server picked.
	"$JS.S.>",
	// Flow-control replies from the sourcing server to the origin.
	"$JS.FC.>",
	// Replies to the consumer create and delete requests.
	"$JSC.R.>",
	// Acks ($JS.ACK.>) and service-import replies (_R_.>) pass leaf links
	// without a permission check in nats-server; sourcing does not ack.

	// Live delivery (node/chat/hub.go): every node publishes each message
	// it stored on chat.live.<node>.<room> and every node subscribes to
	// chat.live.>, so the live messages of the whole subtree travel on
	// each link, both ways. A member could forge another's live message;
	// the durable path's copy, checked against the origin's stream
	// position, is what history and resume keep.
	"chat.live.>",
}

// leafPermissions are the permissions of the leaf connection of child.
func leafPermissions(child string) *server.Permissions {
	// Core publishes of the child's own messages reach this node's backend
	// services (chat.nats_client_listen) that subscribe to chat.o.*.<room>.
	// Never another node's: ORIGIN of node N stores whatever arrives on
	// chat.o.N.>, so that would let a child forge N's messages.
	own := "chat.o." + child + ".>"
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: append([]string{own}, linkSubjects...)},
		Subscribe: &server.SubjectPermission{Allow: append([]string(nil), linkSubjects...)},
	}
}
