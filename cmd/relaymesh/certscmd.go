package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/relaymesh/relaymesh/mesh/pki"
)

const certsUsage = `usage:
  relaymesh certs ca --out DIR [--name NAME] [--days N]
      create the cluster CA: DIR/ca.pem and DIR/ca-key.pem (keep the key offline)
  relaymesh certs node --ca DIR --name NODE [--host H,...] --out DIR [--days N]
      issue a node certificate signed by the CA: DIR/NODE.pem and DIR/NODE-key.pem
`

func runCerts(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, certsUsage)
		return 2
	}
	switch args[0] {
	case "ca":
		return runCertsCA(args[1:], stdout, stderr)
	case "node":
		return runCertsNode(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, certsUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "relaymesh certs: unknown subcommand %q\n\n%s", args[0], certsUsage)
		return 2
	}
}

func runCertsCA(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("certs ca", "certs ca --out DIR [--name NAME] [--days N]", stderr)
	out := fs.String("out", "", "directory for ca.pem and ca-key.pem (required)")
	name := fs.String("name", "relaymesh cluster CA", "CA common name")
	days := fs.Int("days", 3650, "validity in days")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *out == "" || *days < 1 {
		fs.Usage()
		return 2
	}
	ca, err := pki.NewCA(*name, time.Duration(*days)*24*time.Hour)
	if err == nil {
		err = ca.WriteFiles(*out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh certs ca: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, "ca.pem"), filepath.Join(*out, "ca-key.pem"))
	return 0
}

func runCertsNode(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("certs node", "certs node --ca DIR --name NODE [--host H,...] --out DIR", stderr)
	caDir := fs.String("ca", "", "directory holding ca.pem and ca-key.pem (required)")
	name := fs.String("name", "", "node name, as in node.name of its config (required)")
	hosts := fs.String("host", "", "comma-separated IPs and DNS names of the node")
	out := fs.String("out", "", "directory for NODE.pem and NODE-key.pem (required)")
	days := fs.Int("days", 825, "validity in days")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *caDir == "" || *name == "" || *out == "" || *days < 1 {
		fs.Usage()
		return 2
	}
	ca, err := pki.LoadCA(filepath.Join(*caDir, "ca.pem"), filepath.Join(*caDir, "ca-key.pem"))
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh certs node: %v\n", err)
		return 1
	}
	var hs []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, h)
		}
	}
	certPEM, keyPEM, err := ca.IssueNode(*name, hs, time.Duration(*days)*24*time.Hour)
	if err == nil {
		err = pki.WriteNodeFiles(*out, *name, certPEM, keyPEM)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relaymesh certs node: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", filepath.Join(*out, *name+".pem"), filepath.Join(*out, *name+"-key.pem"))
	return 0
}
