package owner

// Member is a live node of the mesh as the planner needs it.
type Member struct {
	Name   string // node name, unique in the mesh; the hashing input
	Region string // region name ("seoul", ...)
	Addr   string // mesh (QUIC) address to fetch from
}

// Via says where a node should get a key it does not have.
type Via int

const (
	// ViaOrigin: ask the origin. The node owns the key in its region and
	// there is no shield to ask (or it is in the shield region itself, or
	// the shield region has no live member).
	ViaOrigin Via = iota
	// ViaRegionOwner: ask Route.Peer, the key's owner in this node's region.
	ViaRegionOwner
	// ViaShield: ask Route.Peer, the key's owner in the shield region. Only
	// region owners outside the shield region do this.
	ViaShield
)

func (v Via) String() string {
	switch v {
	case ViaOrigin:
		return "origin"
	case ViaRegionOwner:
		return "region-owner"
	case ViaShield:
		return "shield"
	default:
		return "unknown"
	}
}

// Route is the answer of Plan: where to fetch a key from.
type Route struct {
	Via Via
	// Peer is the member to ask when Via is ViaRegionOwner or ViaShield;
	// zero for ViaOrigin.
	Peer Member
}

// Plan returns where the node self, in region selfRegion, should fetch key
// from on a cache miss:
//
//   - not the key's owner in its region: the region's owner (ViaRegionOwner);
//   - the owner, with a shield region configured (shieldRegion != "") that is
//     not its own region and has live members: the shield region's owner
//     (ViaShield);
//   - otherwise the origin (ViaOrigin).
//
// members are the live members of the mesh as this node sees them; self
// is counted in selfRegion whether or not members lists it (a node that
// plans is alive). Members with an empty name are ignored.
//
// Plan is meant for requests from players. A node answering a fetch from a
// peer must not forward it within its region again: it uses OwnerRoute,
// acting as the owner it was taken for. That bounds every fill to two hops
// (non-owner → region owner → shield owner → origin) and rules out loops
// while views of the membership differ; the price of a stale view is at
// worst an extra origin GET, never a cycle.
func Plan(key, self, selfRegion string, members []Member, shieldRegion string) Route {
	names := make([]string, 0, len(members)+1)
	byName := make(map[string]Member, len(members))
	names = append(names, self)
	for _, m := range members {
		if m.Name == "" || m.Region != selfRegion || m.Name == self {
			continue
		}
		names = append(names, m.Name)
		byName[m.Name] = m
	}
	if o, _ := Owner(key, names); o != self {
		return Route{Via: ViaRegionOwner, Peer: byName[o]}
	}
	return OwnerRoute(key, self, selfRegion, members, shieldRegion)
}

// OwnerRoute is where the owner of key in selfRegion fetches it from: the
// shield region's owner when a shield is configured, is not selfRegion and
// has a live member; else the origin. A node serving a fetch from a peer
// uses it directly (see Plan). self is never chosen as the shield peer.
func OwnerRoute(key, self, selfRegion string, members []Member, shieldRegion string) Route {
	if shieldRegion == "" || shieldRegion == selfRegion {
		return Route{Via: ViaOrigin}
	}
	names := make([]string, 0, len(members))
	byName := make(map[string]Member, len(members))
	for _, m := range members {
		if m.Name == "" || m.Region != shieldRegion || m.Name == self {
			continue
		}
		names = append(names, m.Name)
		byName[m.Name] = m
	}
	o, ok := Owner(key, names)
	if !ok {
		return Route{Via: ViaOrigin}
	}
	return Route{Via: ViaShield, Peer: byName[o]}
}
