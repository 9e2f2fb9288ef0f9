package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newCA(t *testing.T, name string) *CA {
	t.Helper()
	ca, err := NewCA(name, 24*time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func newIdentity(t *testing.T, ca *CA, name string) *Identity {
	t.Helper()
	id, err := ca.NewIdentity(name, []string{"127.0.0.1"})
	if err != nil {
		t.Fatalf("NewIdentity(%q): %v", name, err)
	}
	return id
}

// rawIdentity builds an Identity around a certificate issued with req,
// bypassing the checks identityFromPEM makes, to test what a peer holding
// such a certificate meets at the handshake.
func rawIdentity(t *testing.T, ca *CA, req leafRequest) *Identity {
	t.Helper()
	certPEM, keyPEM, err := ca.issue(req)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &Identity{Cert: cert, Roots: roots, Name: req.name}
}

func window(from, to time.Duration) (time.Time, time.Time) {
	now := time.Now()
	return now.Add(from), now.Add(to)
}

// writeFile writes a fixture file into dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
