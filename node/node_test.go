package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/mesh/pki"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

var testCA = sync.OnceValue(func() *pki.CA {
	ca, err := pki.NewCA("node test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return ca
})

// testConfig is a node config with timers shrunk for a cluster on
// loopback, in the spirit of memberlist's testConfig.
func testConfig(t *testing.T, name, region, host string, seeds ...string) config.Config {
	cfg := config.Defaults()
	cfg.Node.Name = name
	cfg.Node.Region = region
	cfg.Node.DataDir = t.TempDir()
	cfg.HTTP.Listen = net.JoinHostPort(host, "0")
	cfg.HTTP.ShutdownTimeout = 2 * time.Second
	cfg.Mesh.Listen = net.JoinHostPort(host, "0")
	cfg.Mesh.Seeds = seeds
	// Short, but not so short that a loaded 2-core CI machine running the
	// race detector misses acks: that shows up as false failures.
	cfg.Mesh.ProbeInterval = 250 * time.Millisecond
	cfg.Mesh.ProbeTimeout = 150 * time.Millisecond
	cfg.Mesh.GossipInterval = 50 * time.Millisecond
	cfg.Mesh.SuspicionMult = 3
	cfg.Mesh.PushPullInterval = time.Second
	cfg.Mesh.JoinRetryMin = 20 * time.Millisecond
	cfg.Mesh.JoinRetryMax = 200 * time.Millisecond
	cfg.Mesh.LeaveTimeout = time.Second
	cfg.Mesh.DeadNodeReclaim = time.Second
	cfg.Origin.Endpoint = "127.0.0.1:9"
	cfg.Origin.Bucket = "relaymesh"
	cfg.Origin.UseTLS = false
	return cfg
}

func startNode(t *testing.T, cfg config.Config) *Node {
	t.Helper()
	id, err := testCA().NewIdentity(cfg.Node.Name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, Options{Identity: id, Logger: nodetest.Logger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Node.Name, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < within {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last: %s", what, within, last)
	return 0
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp.StatusCode
}

func stateOf(t *testing.T, observer *Node, name string) string {
	var v MeshView
	getJSON(t, observer.HTTPURL()+"/v1/mesh", &v)
	for _, m := range v.Members {
		if m.Name == name {
			return m.State
		}
	}
	return "absent"
}

func allSee(t *testing.T, observers []*Node, name, state string) func() (bool, string) {
	return func() (bool, string) {
		for _, o := range observers {
			if s := stateOf(t, o, name); s != state {
				return false, fmt.Sprintf("%s sees %s as %s", o.Name(), name, s)
			}
		}
		return true, ""
	}
}

// startCluster starts one node per region on its own loopback address.
func startCluster(t *testing.T) []*Node {
	var nodes []*Node
	var seeds []string
	for i, region := range []string{"seoul", "tokyo", "virginia", "frankfurt", "seoul"} {
		host := fmt.Sprintf("127.0.0.%d", 10+i)
		n := startNode(t, testConfig(t, fmt.Sprintf("%s-%d", region, i), region, host, seeds...))
		nodes = append(nodes, n)
		seeds = append(seeds, n.MeshAddr().String())
	}
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.Name()+" sees all alive", func() (bool, string) {
			var v MeshView
			getJSON(t, n.HTTPURL()+"/v1/mesh", &v)
			alive := 0
			for _, m := range v.Members {
				if m.State == "alive" {
					alive++
				}
			}
			return alive == len(nodes), fmt.Sprintf("%d alive", alive)
		})
	}
	return nodes
}

func TestCrashIsDetectedLeaveIsNotAndRestartRejoins(t *testing.T) {
	nodes := startCluster(t)
	crashed, rest := nodes[2], append(append([]*Node{}, nodes[:2]...), nodes[3:]...)
	bound := crashed.cluster.FailureDetectionBound(len(nodes))

	// Abrupt kill: no leave message, sockets gone.
	crashedCfg := crashed.cfg
	crashedCfg.Mesh.Listen = crashed.MeshAddr().String()
	crashedCfg.HTTP.Listen = crashed.httpLn.Addr().String()
	crashedCfg.Mesh.Seeds = []string{nodes[0].MeshAddr().String()}
	_ = crashed.Close()
	took := eventually(t, bound, "crashed node marked dead by all", allSee(t, rest, crashed.Name(), "dead"))
	t.Logf("crash detected by all %d peers in %v (bound %v)", len(rest), took, bound)

	// Restart on the same addresses: it must be alive again everywhere.
	restarted := startNode(t, crashedCfg)
	took = eventually(t, 10*time.Second, "restarted node alive for all", allSee(t, rest, restarted.Name(), "alive"))
	t.Logf("restarted node rejoined in %v", took)

	// Graceful leave: peers must see "left", never "dead".
	leaver, observers := nodes[4], nodes[:2]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := leaver.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	eventually(t, 5*time.Second, "leaver marked left", allSee(t, observers, leaver.Name(), "left"))
}

func TestReadyzBeforeAndAfterJoin(t *testing.T) {
	// Reserve an address for the seed, then free it: the node starts with
	// a seed that is not up yet.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seedAddr := pc.LocalAddr().String()
	_ = pc.Close()

	a := startNode(t, testConfig(t, "tokyo-1", "tokyo", "127.0.0.1", seedAddr))
	var body struct {
		Ready  bool
		Reason string
	}
	if code := getJSON(t, a.HTTPURL()+"/readyz", &body); code != http.StatusServiceUnavailable || body.Ready || !strings.Contains(body.Reason, "not joined") {
		t.Fatalf("readyz before join: %d %+v, want 503 with a reason", code, body)
	}
	if code := getJSON(t, a.HTTPURL()+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz before join: %d, want 200 (alive even when not ready)", code)
	}

	seedCfg := testConfig(t, "seoul-1", "seoul", "127.0.0.1")
	seedCfg.Mesh.Listen = seedAddr
	startNode(t, seedCfg)
	eventually(t, 10*time.Second, "readyz 200 after join", func() (bool, string) {
		code := getJSON(t, a.HTTPURL()+"/readyz", &body)
		return code == http.StatusOK && body.Ready, fmt.Sprintf("%d %+v", code, body)
	})
}

func TestNodeStopsAllGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	for _, graceful := range []bool{true, false} {
		a := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
		b := startNode(t, testConfig(t, "tokyo-1", "tokyo", "127.0.0.1", a.MeshAddr().String()))
		eventually(t, 10*time.Second, "join", func() (bool, string) {
			ok, why := b.Ready()
			return ok, why
		})
		getJSON(t, a.HTTPURL()+"/v1/mesh", nil)
		getJSON(t, a.HTTPURL()+"/metrics", nil)
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = b.Shutdown(ctx)
			_ = a.Shutdown(ctx)
			cancel()
		} else {
			_ = b.Close()
			_ = a.Close()
		}
		if err := goleak.Find(nodetest.LeakOptions(before)...); err != nil {
			t.Fatalf("graceful=%v: goroutines left after shutdown: %v", graceful, err)
		}
	}
}

func TestHTTPBadInput(t *testing.T) {
	a := startNode(t, testConfig(t, "seoul-1", "seoul", "127.0.0.1"))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/edges?region=mars", http.StatusBadRequest},
		{"GET", "/v1/edges?region=" + strings.Repeat("x", 5000), http.StatusBadRequest},
		{"POST", "/v1/mesh", http.StatusMethodNotAllowed},
		{"DELETE", "/readyz", http.StatusMethodNotAllowed},
		{"GET", "/v1/nope", http.StatusNotFound},
		{"GET", "/v1/../../etc/passwd", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, a.HTTPURL()+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff on errors too", tc.method, tc.path, got)
		}
	}
}

func TestEdgesNearestFirst(t *testing.T) {
	nodes := startCluster(t)
	var body struct {
		From  string
		Edges []Edge
	}
	getJSON(t, nodes[0].HTTPURL()+"/v1/edges?region=frankfurt", &body)
	var order []string
	for _, e := range body.Edges {
		order = append(order, e.Region)
	}
	// Two seoul nodes tie at the model's 231.3 ms and sort by name.
	if got, want := strings.Join(order, ","), "frankfurt,virginia,tokyo,seoul,seoul"; got != want {
		t.Fatalf("edges from frankfurt: %s, want %s", got, want)
	}
	getJSON(t, nodes[0].HTTPURL()+"/v1/edges", &body)
	if len(body.Edges) != len(nodes) || body.Edges[0].Name != nodes[0].Name() || body.Edges[0].Basis != "self" {
		t.Fatalf("edges from this node: %+v; want all %d, this node first", body.Edges, len(nodes))
	}
}
