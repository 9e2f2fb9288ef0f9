// Package wan emulates wide-area latency in user space.
//
// The kernels relaymesh is developed and tested on have no netem, yet a
// four-region mesh on loopback must behave like Seoul, Tokyo, N. Virginia and
// Frankfurt for its coordinates, leaf tree and chat latency to mean anything.
// Because every inter-node byte rides one UDP socket per node, wrapping that
// one net.PacketConn is enough: Conn holds each outgoing datagram for the
// one-way latency between the local region and the destination's region.
// Only writes are delayed, so when both ends are wrapped a round trip costs
// the sum of the two one-way delays, as on a real path.
package wan
