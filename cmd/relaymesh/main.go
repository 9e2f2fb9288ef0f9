// Command relaymesh is the relaymesh edge node and its tools.
//
//	relaymesh node --config FILE     run an edge node
//	relaymesh dev                    run a local four-region mesh
//	relaymesh config check FILE      validate a node config
//	relaymesh certs ca|node          create the cluster CA and node certificates
//	relaymesh version                print the version
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/relaymesh/relaymesh/node"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `relaymesh: the edge layer for live video and chat

usage:
  relaymesh node --config FILE      run an edge node
  relaymesh dev [flags]             run a complete local mesh (one node per region)
  relaymesh config check FILE...    validate node config files
  relaymesh certs ca|node [flags]   create the cluster CA and node certificates
  relaymesh bench chat|hls [flags]  load-test chat or HLS on a running mesh
  relaymesh version                 print the version

Run 'relaymesh COMMAND --help' for the flags of a command.
`

// run dispatches a subcommand and returns the process exit code: 0 ok,
// 1 the command failed, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "node":
		return runNode(args[1:], stdout, stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
	case "config":
		return runConfig(args[1:], stdout, stderr)
	case "certs":
		return runCerts(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "relaymesh %s\n", node.BuildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "relaymesh: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
