package main

import (
	"fmt"
	"io"
	"os"

	"github.com/relaymesh/relaymesh/config"
)

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: relaymesh config check [--no-env] FILE...")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	fs := newFlagSet("config check", "config check [--no-env] FILE...", stderr)
	noEnv := fs.Bool("no-env", false, "ignore RELAYMESH_* environment overrides")
	if code := parseFlags(fs, args[1:]); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	getenv := os.Getenv
	if *noEnv {
		getenv = func(string) string { return "" }
	}
	code := 0
	for _, path := range fs.Args() {
		cfg, err := config.Load(path, getenv)
		if err != nil {
			fmt.Fprintln(stderr, err) // "invalid config PATH:" then one "field.path: problem" per line
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(stdout, "  warning: %s\n", w)
		}
	}
	return code
}
