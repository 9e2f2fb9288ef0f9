package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNewCA(t *testing.T) {
	ca := newCA(t, "relaymesh test ca")
	c := ca.Cert
	if !c.IsCA || !c.MaxPathLenZero || c.MaxPathLen != 0 {
		t.Errorf("IsCA=%v MaxPathLen=%d zero=%v; want a CA limited to leaves", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.Subject.CommonName != "relaymesh test ca" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if d := time.Until(c.NotAfter); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("NotAfter in %v, want ~24h", d)
	}
	if c.SerialNumber.BitLen() > 128 || c.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v not a positive 128-bit number", c.SerialNumber)
	}
}

func TestNewCARejectsBadInput(t *testing.T) {
	if _, err := NewCA("", time.Hour); err == nil {
		t.Error("empty name accepted")
	}
	_, err := NewCA("x", -time.Hour)
	wantErr(t, err, "validity must be positive")
}

func TestCAWriteLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca := newCA(t, "round trip")
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if m := fileMode(t, certPath); m != 0o644 {
		t.Errorf("%s mode %v, want 0644", CACertFile, m)
	}
	if m := fileMode(t, keyPath); m != 0o600 {
		t.Errorf("%s mode %v, want 0600", CAKeyFile, m)
	}

	loaded, err := LoadCA(certPath, keyPath)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !bytes.Equal(loaded.CertPEM, ca.CertPEM) {
		t.Error("loaded CA certificate differs")
	}
	// The loaded CA can issue, and the result verifies against the original.
	id, err := loaded.NewIdentity("n1", nil)
	if err != nil {
		t.Fatalf("issue from loaded CA: %v", err)
	}
	if _, err := id.Cert.Leaf.Verify(verifyOpts(ca)); err != nil {
		t.Errorf("certificate from loaded CA does not verify: %v", err)
	}
}

func TestCAWriteFilesRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	first := newCA(t, "first")
	if err := first.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	err := newCA(t, "second").WriteFiles(dir)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteFiles = %v, want fs.ErrExist", err)
	}
	wantErr(t, err, "refusing to overwrite")
	after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.Equal(before, after) {
		t.Error("existing CA key was modified")
	}

	// Only one of the two files present: still nothing is written.
	dir2 := t.TempDir()
	writeFile(t, dir2, CACertFile, []byte("keep me"))
	if err := first.WriteFiles(dir2); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteFiles over a lone ca.pem = %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, CAKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ca-key.pem was written although ca.pem existed: %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "real")
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	other := newCA(t, "other")
	otherKey, _ := encodeKey(other.Key)
	leafPEM, _, err := ca.IssueNode("leaf", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		cert, key  string
		wantIs     error
		wantSubstr []string
	}{
		{"missing cert", filepath.Join(dir, "nope.pem"), keyPath, fs.ErrNotExist, []string{"ca file", "nope.pem", "does not exist"}},
		{"missing key", certPath, filepath.Join(dir, "nope-key.pem"), fs.ErrNotExist, []string{"ca key file", "does not exist"}},
		{"garbage cert", writeFile(t, dir, "garbage.pem", []byte("hello")), keyPath, nil, []string{"garbage.pem", "not PEM"}},
		{"key as cert", keyPath, keyPath, nil, []string{"no CERTIFICATE PEM block (found PRIVATE KEY)"}},
		{"leaf as ca", writeFile(t, dir, "leaf.pem", leafPEM), keyPath, nil, []string{"leaf.pem", "is not a ca"}},
		{"wrong key", certPath, writeFile(t, dir, "other-key.pem", otherKey), nil, []string{"other-key.pem", "does not match"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadCA(tc.cert, tc.key)
			wantErr(t, err, tc.wantSubstr...)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
}
