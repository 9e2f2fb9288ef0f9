package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/coordinate"
)

// coords keeps this node's network coordinate (Vivaldi, from serf) and the
// last coordinate heard from every peer. memberlist calls it as a
// PingDelegate: each ack carries the responder's coordinate and each
// completed probe feeds one RTT sample into the model, so any node can
// estimate the RTT to any other without measuring every pair itself.
type coords struct {
	client *coordinate.Client

	mu       sync.Mutex
	peers    map[string]*coordinate.Coordinate
	measured map[string]time.Duration // last raw probe RTT, for operators

	rejected atomic.Uint64 // samples with a bad payload or RTT
}

// vivaldiGain replaces serf's default 0.25 for both Vivaldi constants (CC,
// the step size, and CE, the error-estimate gain). relaymesh clusters are
// tens of nodes that probe each other every few seconds, so each pair gets
// few samples; at 0.25 the four-region dev mesh needed about 15 s for
// Seoul-Frankfurt to come within 10 % of its RTT, at 0.5 about 8 s, and it
// also fit the short Seoul-Tokyo link better (40 vs 65 ms estimated for
// 37 ms measured). Going to 1.0 gained little more.
const vivaldiGain = 0.5

func newCoords() (*coords, error) {
	cfg := coordinate.DefaultConfig()
	cfg.VivaldiCC, cfg.VivaldiCE = vivaldiGain, vivaldiGain
	client, err := coordinate.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &coords{
		client:   client,
		peers:    make(map[string]*coordinate.Coordinate),
		measured: make(map[string]time.Duration),
	}, nil
}

// AckPayload implements memberlist.PingDelegate.
func (c *coords) AckPayload() []byte {
	return encodeCoordinate(c.client.GetCoordinate())
}

// NotifyPingComplete implements memberlist.PingDelegate.
func (c *coords) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	peer, err := decodeCoordinate(payload)
	if err != nil {
		c.rejected.Add(1)
		return
	}
	if _, err := c.client.Update(other.Name, peer, rtt); err != nil {
		c.rejected.Add(1)
		return
	}
	c.mu.Lock()
	c.peers[other.Name] = peer
	c.measured[other.Name] = rtt
	c.mu.Unlock()
}

// estimate returns the RTT to the named node predicted by the coordinates,
// and the last directly measured probe RTT (0 if none).
func (c *coords) estimate(name string) (estimated, measured time.Duration, ok bool) {
	c.mu.Lock()
	peer, ok := c.peers[name]
	measured = c.measured[name]
	c.mu.Unlock()
	if !ok {
		return 0, 0, false
	}
	return c.client.DistanceTo(peer), measured, true
}

func (c *coords) forget(name string) {
	c.client.ForgetNode(name)
	c.mu.Lock()
	delete(c.peers, name)
	delete(c.measured, name)
	c.mu.Unlock()
}

// Coordinate wire format (version 1), all numbers little-endian float64:
//
//	byte 0        version (1)
//	byte 1        n, number of dimensions (1..16)
//	8*n bytes     Vec
//	8 bytes       Error
//	8 bytes       Adjustment
//	8 bytes       Height
const (
	coordVersion = 1
	maxCoordDims = 16
)

func encodeCoordinate(c *coordinate.Coordinate) []byte {
	b := make([]byte, 2, 2+8*(len(c.Vec)+3))
	b[0], b[1] = coordVersion, byte(len(c.Vec))
	for _, f := range append(append([]float64(nil), c.Vec...), c.Error, c.Adjustment, c.Height) {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

// decodeCoordinate parses a peer's coordinate. It is fed bytes from the
// network, so it checks everything: version, length, finite numbers.
func decodeCoordinate(b []byte) (*coordinate.Coordinate, error) {
	if len(b) < 2 {
		return nil, errors.New("coordinate: short payload")
	}
	if b[0] != coordVersion {
		return nil, fmt.Errorf("coordinate: unknown version %d", b[0])
	}
	n := int(b[1])
	if n < 1 || n > maxCoordDims {
		return nil, fmt.Errorf("coordinate: bad dimension count %d", n)
	}
	if want := 2 + 8*(n+3); len(b) != want {
		return nil, fmt.Errorf("coordinate: payload is %d bytes, want %d", len(b), want)
	}
	fs := make([]float64, n+3)
	for i := range fs {
		fs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[2+8*i:]))
	}
	c := &coordinate.Coordinate{Vec: fs[:n], Error: fs[n], Adjustment: fs[n+1], Height: fs[n+2]}
	if !c.IsValid() {
		return nil, errors.New("coordinate: non-finite component")
	}
	if c.Error < 0 || c.Height < 0 {
		return nil, errors.New("coordinate: negative error or height")
	}
	return c, nil
}
