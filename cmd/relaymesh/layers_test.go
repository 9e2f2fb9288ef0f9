package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layering of the tree, checked on every package's imports (go list).
// README's architecture section states the same rules.
//
//   - the pure packages import nothing of ours (mesh/tree aside, which
//     ranks by regions).
//   - config imports only regions.
//   - origin imports nothing of ours but hlskey, the key grammar it checks
//     every call against.
//   - mesh/... does not import node/...
//   - nothing imports cmd/. Only cmd/ and the dev mesh import node, the
//     composition root: node/devmesh runs whole nodes in one process
//     (`relaymesh dev`, end-to-end tests), so it is a second composition
//     root, and like cmd/ nothing but cmd/ (and its own subpackages)
//     imports it.
//   - node, the composition root, imports of node/... only the services it
//     builds and runs (composed), not their insides: a protocol, a loop or
//     a service's wiring that node needed would belong in node.
//   - the services under node/ do not import each other, except that
//     ingest fills the HLS cache (node/hls/cache) with what a streamer
//     pushed and checks pushed playlists (node/hls/playlist).
//
// knownBreaks are imports allowed to break a rule for now, each with the
// reason (none today); a new break fails the test, and so does an entry
// here that no longer breaks anything (remove it).
var knownBreaks = map[string]string{}

const module = "github.com/relaymesh/relaymesh/"

var pure = []string{"regions", "hlskey", "mesh/tree", "mesh/wan", "mesh/pki", "node/hls/cache", "node/hls/owner",
	"node/hls/playlist", "node/chat/wire", "node/ingest/spool", "node/httplimit"}

var services = []string{"node/chat", "node/hls", "node/ingest", "node/natsd"}

// composed is what node may import of node/...: the services, the HTTP
// listener, and the ingest spool, which node opens under its data dir
// and hands to ingest (and whose backlog it reports).
var composed = append([]string{"node/httplimit", "node/ingest/spool"}, services...)

// ingestUses is what ingest may import of the HLS service's packages.
var ingestUses = []string{"node/hls/cache", "node/hls/playlist"}

// under reports whether pkg is dir or below it.
func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// broken returns the rule that pkg importing imp breaks, or "".
func broken(pkg, imp string) string {
	switch {
	case under(imp, "cmd"):
		return "nothing imports cmd/"
	case slices.Contains(pure, pkg) && !(pkg == "mesh/tree" && imp == "regions"):
		return pkg + " is pure: it imports nothing of ours"
	case pkg == "config" && imp != "regions":
		return "config imports only regions"
	case (under(pkg, "origin") && imp != "hlskey" && !under(imp, "origin")) || (pkg == "origin" && under(imp, "origin")):
		return "origin imports nothing of ours but hlskey"
	case under(pkg, "mesh") && under(imp, "node"):
		return "mesh/... does not import node/..."
	case imp == "node" && !under(pkg, "cmd") && pkg != "node/devmesh":
		return "only cmd/ and the dev mesh import node, the composition root"
	case under(imp, "node/devmesh") && !under(pkg, "cmd") && !under(pkg, "node/devmesh"):
		return "only cmd/ imports the dev mesh, a second composition root"
	case pkg == "node" && under(imp, "node") && !slices.Contains(composed, imp):
		return "node imports the services it composes, not their insides"
	}
	for _, a := range services {
		for _, b := range services {
			if a != b && under(pkg, a) && under(imp, b) && !(a == "node/ingest" && slices.Contains(ingestUses, imp)) {
				return "services do not import each other"
			}
		}
	}
	return ""
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	used := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			rule := broken(pkg, imp)
			if rule == "" {
				continue
			}
			key := pkg + " -> " + imp
			if _, ok := knownBreaks[key]; ok {
				used[key] = true
				continue
			}
			t.Errorf("%s breaks a layering rule: %s", key, rule)
		}
	}
	for key := range knownBreaks {
		if !used[key] {
			t.Errorf("known break %q no longer happens: remove it from knownBreaks", key)
		}
	}
}

// TestLayeringRules: the rules catch what they are meant to.
func TestLayeringRules(t *testing.T) {
	for _, c := range []struct {
		pkg, imp string
		bad      bool
	}{
		{"node", "node/chat", false},
		{"node/chat", "node/chat/wire", false},
		{"mesh/tree", "regions", false},
		{"node/ingest", "node/hls/cache", false},
		{"node/ingest", "node/hls", true},
		{"node/ingest", "node/hls/announce", true},
		{"node", "node/hls", false},
		{"node", "node/ingest/spool", false},
		{"node", "node/hls/announce", true},
		{"node", "node/hls/cache", true},
		{"node", "node/chat/wire", true},
		{"node", "mesh/treeloop", false},
		{"node/devmesh/procs", "node/devmesh", false},
		{"node/hls/bench", "node/devmesh", true},
		{"node/devmesh", "node", false},
		{"cmd/relaymesh", "node", false},
		{"mesh/leaf", "node/natsd", true},
		{"node/chat", "node", true},
		{"node/hls", "node/chat", true},
		{"node/chat/wire", "regions", true},
		{"config", "mesh/pki", true},
		{"origin", "regions", true},
		{"origin", "hlskey", false},
		{"origin/devs3", "origin", false},
		{"origin", "origin/devs3", true},
		{"hlskey", "regions", true},
		{"node", "cmd/relaymesh", true},
	} {
		if got := broken(c.pkg, c.imp) != ""; got != c.bad {
			t.Errorf("%s -> %s: broken %v, want %v", c.pkg, c.imp, got, c.bad)
		}
	}
}
