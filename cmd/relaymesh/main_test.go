package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relaymesh/relaymesh/mesh/pki"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCheckAcceptsTheExample(t *testing.T) {
	code, out, errs := runCmd(t, "config", "check", "--no-env", "../../config/example.yaml")
	if code != 0 || !strings.Contains(out, "example.yaml: ok") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestConfigCheckReportsEveryMistake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	bad := `node:
  name: edge-1
  region: mars
mesh:
  advertise: 10.0.0.1:7946
  sedes: [tokyo.example.com:7946]
  probe_interval: fast
origin:
  endpoint: s3.example.com
  bucket: relaymesh
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "config", "check", "--no-env", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		`node.region: must be one of seoul, tokyo, virginia, frankfurt; got "mars"`,
		`mesh.probe_interval: cannot parse "fast" as a duration`,
		`mesh.sedes: unknown field (did you mean "seeds"?)`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestConfigCheckMissingFile(t *testing.T) {
	code, _, errs := runCmd(t, "config", "check", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != 1 || !strings.Contains(errs, "nope.yaml") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"config"}, {"config", "check"}, {"node"}, {"certs", "ca"}, {"dev", "--per-region", "x"}} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("relaymesh %v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "relaymesh ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestCertsMakeAWorkingIdentity(t *testing.T) {
	dir := t.TempDir()
	caDir, nodeDir := filepath.Join(dir, "ca"), filepath.Join(dir, "tls")
	if code, _, errs := runCmd(t, "certs", "ca", "--out", caDir); code != 0 {
		t.Fatalf("certs ca: exit %d: %s", code, errs)
	}
	if code, _, errs := runCmd(t, "certs", "node", "--ca", caDir, "--name", "seoul-1", "--host", "127.0.0.1,seoul-1.example.com", "--out", nodeDir); code != 0 {
		t.Fatalf("certs node: exit %d: %s", code, errs)
	}
	id, err := pki.LoadIdentity(filepath.Join(caDir, "ca.pem"), filepath.Join(nodeDir, "seoul-1.pem"), filepath.Join(nodeDir, "seoul-1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "seoul-1" {
		t.Fatalf("identity name %q", id.Name)
	}
	// Never overwrite a CA: that would orphan every node certificate.
	if code, _, errs := runCmd(t, "certs", "ca", "--out", caDir); code != 1 || !strings.Contains(errs, "exist") {
		t.Fatalf("second certs ca: exit %d, stderr %q", code, errs)
	}
}
