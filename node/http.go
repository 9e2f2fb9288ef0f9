package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/relaymesh/relaymesh/config"
	"github.com/relaymesh/relaymesh/mesh/membership"
	"github.com/relaymesh/relaymesh/mesh/tree"
	"github.com/relaymesh/relaymesh/node/httplimit"
	"github.com/relaymesh/relaymesh/regions"
)

// httpServer is the node's one HTTP server. Its deadlines fit the routes
// of fans and operators, which send no or tiny bodies; the two long-lived
// kinds of request get their own: ingest uploads must keep a minimum rate
// instead (node/ingest, with http.ResponseController), and chat WebSockets
// are exempt altogether, because net/http clears a connection's deadlines
// when it is hijacked (the chat sets its own for pings). The listener
// (httplimit) caps connections per client and per node.
func (n *Node) httpServer() *http.Server {
	h := n.cfg.HTTP
	return &http.Server{
		Handler:           httplimit.Nosniff(n.routes()),
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    int(h.MaxHeaderBytes),
		ConnState:         n.httpLn.ConnState,
		ErrorLog:          slog.NewLogLogger(n.log.With("component", "http").Handler(), slog.LevelWarn),
	}
}

// connLimits are the listener's caps for the http section; a per-node cap
// of 0 is derived from the file descriptor limit.
func connLimits(h config.HTTP) httplimit.Limits {
	l := httplimit.Limits{PerIP: h.MaxConnsPerIP, PerNode: h.MaxConns, RetryAfter: h.RetryAfter}
	if l.PerNode == 0 {
		l.PerNode = httplimit.DefaultPerNode()
	}
	return l
}

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", n.handleHealthz)
	mux.HandleFunc("GET /readyz", n.handleReadyz)
	mux.HandleFunc("GET /v1/mesh", n.handleMesh)
	mux.HandleFunc("GET /v1/edges", n.handleEdges)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.registry, promhttp.HandlerOpts{}))
	n.chat.Routes(mux)
	n.hls.Routes(mux)
	n.ingest.Routes(mux)
	return mux
}

// handleHealthz answers as long as the process serves HTTP: it is the
// liveness probe and what DNS health checks hit.
func (n *Node) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 once the node has joined the mesh and 503 with
// the reason before that and while shutting down.
func (n *Node) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	ready, reason := n.Ready()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ready, "reason": reason})
}

// MemberView is one member in /v1/mesh.
type MemberView struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	State   string `json:"state"`
	Since   string `json:"since"`
	Self    bool   `json:"self,omitempty"`
	Version string `json:"version,omitempty"`
	HTTP    string `json:"http,omitempty"`
	Mesh    string `json:"mesh,omitempty"`
	Leaf    string `json:"leaf,omitempty"`
	// Parent is the member's NATS leaf parent in the chat tree; empty for a
	// root (and for members that have not chosen yet).
	Parent  string `json:"parent,omitempty"`
	Leaving bool   `json:"leaving,omitempty"`
	// RTTMs is the round trip from this node estimated by network
	// coordinates; MeasuredRTTMs the last direct probe. Absent when unknown.
	RTTMs         *float64 `json:"rtt_ms,omitempty"`
	MeasuredRTTMs *float64 `json:"measured_rtt_ms,omitempty"`
	MetaError     string   `json:"meta_error,omitempty"`
}

// MeshView is the body of GET /v1/mesh.
type MeshView struct {
	Self    MemberView   `json:"self"`
	Ready   bool         `json:"ready"`
	Members []MemberView `json:"members"`
	// Tree is the chat leaf-node tree as gossiped by the alive members:
	// one child -> parent edge per non-root member. TreeRoots lists the
	// members without a parent (one when the tree is whole).
	Tree      []tree.Edge `json:"tree"`
	TreeRoots []string    `json:"tree_roots"`
}

func (n *Node) meshView() MeshView {
	v := MeshView{Members: []MemberView{}}
	v.Ready, _ = n.Ready()
	v.Tree, v.TreeRoots = []tree.Edge{}, []string{}
	for _, m := range n.cluster.Members() {
		mv := memberView(m)
		if m.Self {
			v.Self = mv
		}
		v.Members = append(v.Members, mv)
		if m.Up() { // a leaving member's leaf link is up until it is gone
			if m.Meta.Parent == "" {
				v.TreeRoots = append(v.TreeRoots, m.Name)
			} else {
				v.Tree = append(v.Tree, tree.Edge{Child: m.Name, Parent: m.Meta.Parent})
			}
		}
	}
	if v.Self.Name == "" { // before memberlist has announced us
		self := n.cluster.Self()
		v.Self = MemberView{Name: self.Name, Region: self.Region, State: "alive", Self: true,
			Version: self.Version, HTTP: self.HTTP, Mesh: self.Mesh, Leaf: self.Leaf}
	}
	return v
}

func memberView(m membership.Member) MemberView {
	mv := MemberView{
		Name: m.Name, Region: m.Meta.Region, State: string(m.State), Self: m.Self,
		Since: m.Since.UTC().Format(time.RFC3339Nano), Version: m.Meta.Version,
		HTTP: m.Meta.HTTP, Mesh: m.Meta.Mesh, Leaf: m.Meta.Leaf, MetaError: m.MetaError,
		Parent: m.Meta.Parent, Leaving: m.Meta.Leaving,
	}
	if m.HasRTT {
		mv.RTTMs = ms(m.RTT)
		if m.Measured > 0 {
			mv.MeasuredRTTMs = ms(m.Measured)
		}
	}
	return mv
}

func ms(d time.Duration) *float64 {
	f := float64(d.Microseconds()) / 1000
	return &f
}

func (n *Node) handleMesh(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.meshView())
}

// Edge is one entry of GET /v1/edges.
type Edge struct {
	Name   string  `json:"name"`
	Region string  `json:"region"`
	URL    string  `json:"url"`
	RTTMs  float64 `json:"rtt_ms"`
	// Basis says where RTTMs comes from: "model" (the regions latency
	// model, for ?region=), "coordinates" (this node's network
	// coordinates) or "self".
	Basis string `json:"basis"`
}

// handleEdges lists healthy edges nearest-first: from region R by the
// regions latency model when ?region=R is given (what a geo-DNS or a
// client that knows its region asks), else from this node by measured
// network coordinates.
func (n *Node) handleEdges(w http.ResponseWriter, r *http.Request) {
	from := r.URL.Query().Get("region")
	if from != "" {
		if _, ok := regions.Lookup(from); !ok {
			writeError(w, http.StatusBadRequest, "unknown_region",
				fmt.Sprintf("unknown region %q; known regions: %s", from, strings.Join(regions.Names(), ", ")))
			return
		}
	}
	edges := []Edge{}
	for _, m := range n.cluster.Members() {
		if !m.Live() {
			continue // a leaving node is draining: send no new fans there
		}
		e := Edge{Name: m.Name, Region: m.Meta.Region, URL: "http://" + m.Meta.HTTP}
		switch {
		case from != "":
			rtt, _ := regions.RTT(from, m.Meta.Region)
			e.RTTMs, e.Basis = *ms(rtt), "model"
		case m.Self:
			e.Basis = "self"
		case m.HasRTT:
			e.RTTMs, e.Basis = *ms(m.RTT), "coordinates"
		default:
			// Not yet measured: fall back to the model from our region.
			rtt, _ := regions.RTT(n.cfg.Node.Region, m.Meta.Region)
			e.RTTMs, e.Basis = *ms(rtt), "model"
		}
		edges = append(edges, e)
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].RTTMs != edges[j].RTTMs {
			return edges[i].RTTMs < edges[j].RTTMs
		}
		return edges[i].Name < edges[j].Name
	})
	writeJSON(w, http.StatusOK, map[string]any{"from": fromLabel(from, n), "edges": edges})
}

func fromLabel(region string, n *Node) string {
	if region != "" {
		return region
	}
	return n.cfg.Node.Name
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError sends the error shape every relaymesh API uses.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}
