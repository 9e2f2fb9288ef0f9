package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func verifyOpts(ca *CA) x509.VerifyOptions {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
}

func parseOne(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	certs, err := parseCerts(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestIssueNode(t *testing.T) {
	ca := newCA(t, "ca")
	certPEM, keyPEM, err := ca.IssueNode("seoul-1", []string{"10.0.0.7", "::ffff:10.0.0.8", "edge.example.com.", "seoul-1", "10.0.0.7"}, time.Hour)
	if err != nil {
		t.Fatalf("IssueNode: %v", err)
	}
	c := parseOne(t, certPEM)
	if c.Subject.CommonName != "seoul-1" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if want := []string{"seoul-1", "edge.example.com"}; !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNSNames = %q, want %q", c.DNSNames, want)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) || !c.IPAddresses[1].Equal(net.ParseIP("10.0.0.8")) {
		t.Errorf("IPAddresses = %v, want [10.0.0.7 10.0.0.8]", c.IPAddresses)
	}
	if !slices.Equal(c.ExtKeyUsage, nodeEKU) {
		t.Errorf("ExtKeyUsage = %v, want server and client auth", c.ExtKeyUsage)
	}
	if c.IsCA {
		t.Error("node certificate is a CA")
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if _, err := c.Verify(verifyOpts(ca)); err != nil {
		t.Errorf("does not verify against its CA: %v", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil || !keyMatches(key, c) {
		t.Errorf("returned key does not match certificate: %v", err)
	}

	// Serials are random and 128-bit.
	certPEM2, _, err := ca.IssueNode("seoul-1", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c2 := parseOne(t, certPEM2)
	if c.SerialNumber.Cmp(c2.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}
	if c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 64 {
		t.Errorf("serial has %d bits, want a random 128-bit number", c.SerialNumber.BitLen())
	}
}

func TestIssueNodeClampsToCAExpiry(t *testing.T) {
	ca := newCA(t, "short") // 24h
	certPEM, _, err := ca.IssueNode("n1", nil, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c := parseOne(t, certPEM); c.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("node NotAfter %v outlives CA %v", c.NotAfter, ca.Cert.NotAfter)
	}
}

func TestIssueNodeRejectsBadInput(t *testing.T) {
	ca := newCA(t, "ca")
	for _, tc := range []struct {
		name     string
		hosts    []string
		validity time.Duration
		want     string
	}{
		{"", nil, time.Hour, "empty node name"},
		{"../etc", nil, time.Hour, "not allowed"},
		{"a/b", nil, time.Hour, "not allowed"},
		{"a..b", nil, time.Hour, `contains ".."`},
		{"-lead", nil, time.Hour, "not allowed"},
		{strings.Repeat("x", 64), nil, time.Hour, "longer than 63"},
		{"ok", []string{""}, time.Hour, "empty host"},
		{"ok", []string{"bad host"}, time.Hour, "neither an ip address nor a valid dns name"},
		{"ok", []string{"fe80::1%eth0"}, time.Hour, "zone"},
		{"ok", nil, 0, "validity must be positive"},
		{"ok", nil, -time.Hour, "validity must be positive"},
	} {
		_, _, err := ca.IssueNode(tc.name, tc.hosts, tc.validity)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("IssueNode(%q, %q, %v) = %v, want error containing %q", tc.name, tc.hosts, tc.validity, err, tc.want)
		}
	}
}

func TestWriteNodeFiles(t *testing.T) {
	ca := newCA(t, "ca")
	certPEM, keyPEM, err := ca.IssueNode("tokyo-1", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "certs")
	if err := WriteNodeFiles(dir, "tokyo-1", certPEM, keyPEM); err != nil {
		t.Fatalf("WriteNodeFiles: %v", err)
	}
	if m := fileMode(t, filepath.Join(dir, "tokyo-1.pem")); m != 0o644 {
		t.Errorf("cert mode %v, want 0644", m)
	}
	if m := fileMode(t, filepath.Join(dir, "tokyo-1-key.pem")); m != 0o600 {
		t.Errorf("key mode %v, want 0600", m)
	}
	err = WriteNodeFiles(dir, "tokyo-1", certPEM, keyPEM)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second WriteNodeFiles = %v, want fs.ErrExist", err)
	}
	wantErr(t, WriteNodeFiles(dir, "../escape", certPEM, keyPEM), "not allowed")
	wantErr(t, WriteNodeFiles(dir, "empty", nil, keyPEM), "empty certificate or key")
}
