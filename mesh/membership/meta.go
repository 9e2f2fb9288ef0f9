package membership

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
	"github.com/relaymesh/relaymesh/regions"
)

// Meta is what every node tells the others about itself through gossip.
// It travels in memberlist's node metadata, which is capped at
// memberlist.MetaMaxSize (512 bytes), so the JSON keys are short.
type Meta struct {
	// Name repeats the memberlist node name so that a decoded Meta can be
	// checked against the node it claims to describe.
	Name string `json:"n"`
	// Region is one of regions.Names().
	Region string `json:"r"`
	// Version is the relaymesh build version.
	Version string `json:"v"`
	// HTTP is host:port of the node's HTTP server (fans, streamers, ops).
	HTTP string `json:"h"`
	// Mesh is host:port of the node's QUIC endpoint (all inter-node traffic).
	Mesh string `json:"q"`
	// Leaf is where the node's NATS server accepts leaf connections. Leaf
	// links ride QUIC streams of kind "leaf", so this is the QUIC address.
	Leaf string `json:"l"`
	// Leaving is set by a node that is shutting down gracefully, just before
	// it leaves. memberlist reports a leave and a failure through the same
	// callback without saying which (its Node.State is not filled in), so
	// peers tell them apart by this flag: leaving, then gone, is "left".
	// Edges also stop routing fans to a leaving node.
	Leaving bool `json:"d,omitempty"`
	// Parent is the node this node's NATS server is a leaf of (empty for a
	// root), so that every node can show the whole chat tree.
	Parent string `json:"p,omitempty"`
}

// Encode returns the wire form of m, or an error if it would not fit.
func (m Meta) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("node metadata is %d bytes, over the gossip limit of %d", len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// DecodeMeta parses and checks metadata received from a peer. Unknown JSON
// fields are ignored so that newer nodes can add fields.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) == 0 {
		return m, errors.New("empty node metadata")
	}
	if len(b) > memberlist.MetaMaxSize {
		return m, fmt.Errorf("node metadata is %d bytes, over %d", len(b), memberlist.MetaMaxSize)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("node metadata: %w", err)
	}
	return m, m.Validate()
}

// Validate checks that every field is usable.
func (m Meta) Validate() error {
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("node metadata: missing name"))
	}
	if _, ok := regions.Lookup(m.Region); !ok {
		errs = append(errs, fmt.Errorf("node metadata: unknown region %q", m.Region))
	}
	for _, f := range []struct{ name, addr string }{{"http", m.HTTP}, {"mesh", m.Mesh}, {"leaf", m.Leaf}} {
		if err := checkHostPort(f.addr); err != nil {
			errs = append(errs, fmt.Errorf("node metadata: %s address %q: %w", f.name, f.addr, err))
		}
	}
	return errors.Join(errs...)
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("missing host")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return errors.New("port must be 1-65535")
	}
	return nil
}
