package bench

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"
)

// MaxFansPerSource is the most connections the tool puts on one source
// address: one source IP reaches about 28,000 ephemeral ports
// (net.ipv4.ip_local_port_range, 32768-60999), and the margin leaves room
// for reconnects and for the TIME_WAIT ports of an earlier run (60 s).
const MaxFansPerSource = 20_000

// SourceAddrs returns n consecutive IPv4 addresses from first (127.0.0.1,
// 127.0.0.2, ... 127.0.1.0, ...): every 127.0.0.0/8 address is loopback on
// Linux, so each is another source address to the server, another per-IP
// rate limit and another 28k ports.
func SourceAddrs(first netip.Addr, n int) ([]netip.Addr, error) {
	if !first.Is4() {
		return nil, fmt.Errorf("source address %v is not IPv4", first)
	}
	out := make([]netip.Addr, 0, n)
	a := first
	for range n {
		if !a.IsValid() || (first.IsLoopback() && !a.IsLoopback()) {
			return nil, fmt.Errorf("%d source addresses from %v run past 127.255.255.255", n, first)
		}
		out = append(out, a)
		a = a.Next()
	}
	return out, nil
}

// SourcesNeeded is how many source addresses a run needs so that no
// address carries more than MaxFansPerSource connections and, when
// perIPRate > 0 (the server's per-IP publish limit, msg/s), the publishers
// on each address stay under 80 % of that limit. Publishers are spread one
// per address first (sourceOf), so more addresses than publishers do not
// help: a publisher alone above the limit is the caller's to report.
func SourcesNeeded(fans, publishers int, rate, perIPRate float64) int {
	n := (fans + MaxFansPerSource - 1) / MaxFansPerSource
	if perIPRate > 0 {
		n = max(n, min(int(math.Ceil(rate/(0.8*perIPRate))), publishers))
	}
	return max(min(n, fans), 1)
}

// sourceOf is the source address index of fan i: round-robin, so that
// every address gets its share of publishers (fans 0..Publishers-1) as well
// as of fans, and a fan keeps its address in every worker layout.
func sourceOf(i, sources int) int { return i % sources }

// dialers returns one dialer per source address, each dialling from that
// address (port chosen by the kernel); for an empty list, one dialer that
// lets the kernel pick the address.
//
// TCP keep-alive is off: Go's default (a probe every 15 s) on 100,000
// loopback connections opened in the same minute sends probes in bursts
// that overflow the kernel's per-CPU backlog (net.core.netdev_max_backlog,
// 1000) on a busy box; the drops show as connections aborted with
// "connection timed out" and as slow ramps. Fans notice dead connections
// by their reads failing, as before.
func dialers(sources []netip.Addr) []*net.Dialer {
	if len(sources) == 0 {
		sources = []netip.Addr{{}}
	}
	out := make([]*net.Dialer, len(sources))
	for i, a := range sources {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}
		if a.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: a.AsSlice()}
			d.Control = bindNoPort
		}
		out[i] = d
	}
	return out
}
