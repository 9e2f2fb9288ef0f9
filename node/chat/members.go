package chat

import (
	"context"
	"time"

	"github.com/relaymesh/relaymesh/mesh/membership"
)

// MemberSource is the cluster's view of its members (membership.Cluster).
type MemberSource interface {
	Members() []membership.Member
	// Subscribe returns a channel that receives a value after changes
	// (coalesced) and a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
}

// FollowMembers keeps chat relaying from every member until ctx ends: on
// each membership change it calls SetMembers with the members chat keeps
// as sources (membership.Member.Kept: failed ones stay, so that their
// messages flow again when they return) and those of them that are up.
// The caller runs it in a goroutine it owns.
func (svc *Service) FollowMembers(ctx context.Context, members MemberSource) {
	changes, unsubscribe := members.Subscribe()
	defer unsubscribe()
	for {
		var names []string
		alive := map[string]bool{}
		for _, m := range members.Members() {
			if m.Kept() {
				names = append(names, m.Name)
				alive[m.Name] = m.Up()
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := svc.SetMembers(sctx, names, alive); err != nil && ctx.Err() == nil {
			svc.log.Warn("could not update chat sources", "err", err)
		}
		cancel()
		select {
		case <-changes:
		case <-ctx.Done():
			return
		}
	}
}
