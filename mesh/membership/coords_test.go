package membership

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/coordinate"
)

func TestCoordinateRoundTrip(t *testing.T) {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0], c.Vec[7] = 0.012, -0.3
	c.Error, c.Adjustment, c.Height = 0.4, -0.001, 0.00002
	got, err := decodeCoordinate(encodeCoordinate(c))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
}

func TestDecodeCoordinateRejectsBadInput(t *testing.T) {
	good := encodeCoordinate(coordinate.NewCoordinate(coordinate.DefaultConfig()))
	nan := append([]byte(nil), good...)
	for i := 0; i < 8; i++ { // first component := NaN
		nan[2+i] = byte(math.Float64bits(math.NaN()) >> (8 * i))
	}
	negErr := encodeCoordinate(&coordinate.Coordinate{Vec: []float64{0}, Error: -1})
	for name, in := range map[string][]byte{
		"nil":       nil,
		"short":     {1},
		"version":   append([]byte{2}, good[1:]...),
		"zero dims": {1, 0},
		"too many":  {1, 200},
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0),
		"nan":       nan,
		"neg error": negErr,
	} {
		if _, err := decodeCoordinate(in); err == nil {
			t.Errorf("%s: decodeCoordinate accepted %x", name, in)
		}
	}
}

func TestCoordsLearnFromPings(t *testing.T) {
	// Two coordinate clients pinging each other at a steady 100 ms must end
	// up estimating about 100 ms: this is the path memberlist drives.
	a, _ := newCoords()
	b, _ := newCoords()
	na, nb := &memberlist.Node{Name: "a"}, &memberlist.Node{Name: "b"}
	for i := 0; i < 50; i++ {
		a.NotifyPingComplete(nb, 100*time.Millisecond, b.AckPayload())
		b.NotifyPingComplete(na, 100*time.Millisecond, a.AckPayload())
	}
	est, measured, ok := a.estimate("b")
	if !ok || measured != 100*time.Millisecond {
		t.Fatalf("estimate: ok=%v measured=%v", ok, measured)
	}
	if est < 80*time.Millisecond || est > 120*time.Millisecond {
		t.Fatalf("estimated RTT %v, want about 100ms", est)
	}
	a.NotifyPingComplete(nb, time.Millisecond, []byte("garbage"))
	if a.rejected.Load() != 1 {
		t.Fatalf("garbage payload not counted as rejected")
	}
	a.forget("b")
	if _, _, ok := a.estimate("b"); ok {
		t.Fatal("forgotten node still estimated")
	}
}

func FuzzDecodeCoordinate(f *testing.F) {
	f.Add(encodeCoordinate(coordinate.NewCoordinate(coordinate.DefaultConfig())))
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := decodeCoordinate(in)
		if err != nil {
			return
		}
		if !c.IsValid() {
			t.Fatal("accepted an invalid coordinate")
		}
		// Accepted coordinates must be usable by the Vivaldi client.
		cl, _ := coordinate.NewClient(coordinate.DefaultConfig())
		if c.IsCompatibleWith(cl.GetCoordinate()) {
			_ = cl.DistanceTo(c)
		}
	})
}
