package node

import "runtime/debug"

// Version is the relaymesh version, set at build time with
// -ldflags "-X github.com/relaymesh/relaymesh/node.Version=v1.2.3".
// Without it, the module version from the build info is used.
var Version = ""

// BuildVersion returns the version this binary reports to peers and ops.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
