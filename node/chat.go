package node

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/relaymesh/relaymesh/mesh/leaf"
	"github.com/relaymesh/relaymesh/node/chat"
	"github.com/relaymesh/relaymesh/node/natsd"
)

// startNATS starts the embedded NATS server with its leaf remote pointed
// at mesh/leaf's forwarder, and the leaf manager that carries leaf
// connections over QUIC.
func (n *Node) startNATS() error {
	fwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("node: leaf forwarder: %w", err)
	}
	c := n.cfg.Chat
	n.nats, err = natsd.Start(natsd.Config{
		Name:         n.cfg.Node.Name,
		DataDir:      n.cfg.Node.DataDir,
		LeafRemote:   fwd.Addr().String(),
		ClientListen: c.NATSClientListen,
		User:         c.NATSUser,
		Password:     c.NATSPassword,
		Logger:       n.log.With("component", "nats"),
	})
	if err != nil {
		_ = fwd.Close()
		return fmt.Errorf("node: %w", err)
	}
	n.leaf, err = leaf.New(leaf.Config{
		Endpoint: n.endpoint,
		Listener: fwd,
		Secret:   n.nats.LeafSecret(),
		Hub:      n.nats,
		Logger:   n.log.With("component", "leaf"),
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

func (n *Node) startChat() error {
	c := n.cfg.Chat
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	n.chat, err = chat.New(ctx, chat.Config{
		Node:             n.cfg.Node.Name,
		Region:           n.cfg.Node.Region,
		NATS:             n.nats.Conn(),
		JetStream:        n.nats.JetStream(),
		Logger:           n.log.With("component", "chat"),
		HistoryOnJoin:    c.HistoryOnJoin,
		RecoveryWindow:   c.RecoveryWindow,
		RecoveryMemory:   int64(c.RecoveryMemory),
		Retention:        c.Retention,
		RatePerSecond:    c.RatePerSecond,
		RateBurst:        c.RateBurst,
		MaxTextBytes:     c.MaxTextBytes,
		MaxFrameBytes:    c.MaxFrameBytes,
		PresenceInterval: c.PresenceInterval,
		PresenceFrames:   c.PresenceFrames,
		MaxPendingBytes:  int(c.SendBuffer),
		DrainTimeout:     c.DrainTimeout,
		BatchWindow:      c.BatchWindow,
		PingInterval:     c.PingInterval,
		RestartStore:     n.nats.RestartJetStream,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// NATS exposes the node's embedded NATS server (tests, diagnostics).
func (n *Node) NATS() *natsd.Server { return n.nats }
