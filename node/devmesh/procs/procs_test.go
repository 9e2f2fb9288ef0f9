package procs

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/node/devmesh"
)

// TestConfigFileRoundTrips checks that the file a node process reads gives
// it exactly the config the in-process mesh would have started it with.
func TestConfigFileRoundTrips(t *testing.T) {
	o := devmesh.DefaultOptions()
	o.HTTPPort, o.MeshPort, o.OriginPort = 0, 0, 0
	o.ChatRate, o.ShieldRegion, o.OriginRegion = 1000, "virginia", "tokyo"
	o.DataDir = t.TempDir()
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := devmesh.StartBase(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	for i, s := range b.Slots() {
		want := b.NodeConfig(s, i, []string{"127.0.0.1:7947", "127.0.0.1:7948"})
		want.TLS = config.TLS{CAFile: "/x/ca.pem", CertFile: "/x/n.pem", KeyFile: "/x/n-key.pem"}
		data, err := encodeConfig(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := config.Parse(data)
		if err != nil {
			t.Fatalf("%s: generated config does not parse: %v\n%s", s.Name(), err, data)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("%s: config read back differs\ngot  %+v\nwant %+v", s.Name(), *got, want)
		}
		if !got.Mesh.WANEmulation {
			t.Errorf("%s: mesh.wan_emulation off in a mesh with --wan", s.Name())
		}
	}
}

// TestLineWriterKeepsLinesWhole writes two nodes' output in pieces that
// split lines, and checks that every line comes out whole with its prefix.
func TestLineWriterKeepsLinesWhole(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	a := &lineWriter{mu: &mu, w: &out, prefix: "a | "}
	b := &lineWriter{mu: &mu, w: &out, prefix: "b | "}
	for _, w := range []struct {
		l *lineWriter
		s string
	}{{a, "one "}, {b, "uno\ndos"}, {a, "line\ntwo\nthr"}, {b, "\n"}, {a, "ee"}} {
		if n, err := w.l.Write([]byte(w.s)); n != len(w.s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w.s, n, err)
		}
	}
	a.flush()
	want := "b | uno\na | one line\na | two\nb | dos\na | three\n"
	if out.String() != want {
		t.Fatalf("output\n%s\nwant\n%s", out.String(), want)
	}
}

func TestLineWriterBoundsALongLine(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	l := &lineWriter{mu: &mu, w: &out, prefix: "n | "}
	_, _ = l.Write(bytes.Repeat([]byte("x"), maxLine+10))
	if got := len(l.partial); got != 0 {
		t.Fatalf("holds %d bytes of a line longer than maxLine, want it written out", got)
	}
	if !strings.HasPrefix(out.String(), "n | xxx") {
		t.Fatalf("long line not written with its prefix")
	}
}

func TestChildEnvDropsRelaymeshVariables(t *testing.T) {
	env := []string{"HOME=/root", "RELAYMESH_NODE_NAME=x", "PATH=/bin", "RELAYMESH_MESH_SEEDS=a:1"}
	got := childEnv(env)
	if want := []string{"HOME=/root", "PATH=/bin"}; !slices.Equal(got, want) {
		t.Fatalf("childEnv = %q, want %q", got, want)
	}
	if len(env) != 4 || env[1] != "RELAYMESH_NODE_NAME=x" {
		t.Fatalf("childEnv changed its argument: %q", env)
	}
}

func TestListenAddrsAreDistinct(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		addrs, err := listenAddrs(network, "127.0.0.1", 0, 8)
		if err != nil {
			t.Fatal(err)
		}
		if distinct := slices.Compact(slices.Sorted(slices.Values(addrs))); len(distinct) != 8 {
			t.Fatalf("%s: %d distinct of 8: %v", network, len(distinct), addrs)
		}
	}
	addrs, _ := listenAddrs("tcp", "127.0.0.1", 8081, 3)
	if want := []string{"127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"}; !slices.Equal(addrs, want) {
		t.Fatalf("from base 8081: %v, want %v", addrs, want)
	}
}
