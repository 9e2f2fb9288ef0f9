package wan

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Table maps UDP peer addresses to region names. It is safe for concurrent
// use: the mesh fills it from gossip metadata as nodes join while every
// Conn.WriteTo reads it.
//
// Addresses are normalised through netip.AddrPort with IPv4-mapped IPv6
// addresses unmapped, so "127.0.0.1:7947" and "[::ffff:127.0.0.1]:7947" are
// the same key: the kernel may report either form for one peer.
type Table struct {
	mu      sync.RWMutex
	regions map[netip.AddrPort]string
}

// NewTable returns an empty table. The zero Table is also ready to use.
func NewTable() *Table { return &Table{} }

// Set records that the node at addr ("host:port" with a literal IP) lives in
// region, replacing any earlier entry. It fails on an address that is not an
// IP:port or on an empty region, so that a typo cannot silently leave a peer
// undelayed.
func (t *Table) Set(addr, region string) error {
	ap, err := parseAddr(addr)
	if err != nil {
		return err
	}
	if region == "" {
		return fmt.Errorf("wan: empty region for %s", addr)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.regions == nil {
		t.regions = make(map[netip.AddrPort]string)
	}
	t.regions[ap] = region
	return nil
}

// Delete forgets addr, typically when a node leaves the cluster. Unknown or
// unparsable addresses are ignored: there is nothing to forget.
func (t *Table) Delete(addr string) {
	ap, err := parseAddr(addr)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.regions, ap)
}

// Region reports the region recorded for addr.
func (t *Table) Region(addr string) (string, bool) {
	ap, err := parseAddr(addr)
	if err != nil {
		return "", false
	}
	return t.lookup(ap)
}

// Len reports how many addresses are known.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.regions)
}

// lookup is the hot-path form of Region used by Conn.WriteTo; it takes an
// already normalised key so that no string is parsed per packet.
func (t *Table) lookup(ap netip.AddrPort) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	r, ok := t.regions[ap]
	return r, ok
}

func parseAddr(addr string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("wan: address %q is not ip:port: %w", addr, err)
	}
	return normalise(ap), nil
}

func normalise(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// addrKey turns a net.Addr handed to WriteTo into a table key. *net.UDPAddr,
// which is what quic-go and memberlist pass, is converted without parsing.
func addrKey(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		ap := v.AddrPort()
		if !ap.Addr().IsValid() {
			return netip.AddrPort{}, false
		}
		return normalise(ap), true
	case nil:
		return netip.AddrPort{}, false
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.AddrPort{}, false
		}
		return normalise(ap), true
	}
}
