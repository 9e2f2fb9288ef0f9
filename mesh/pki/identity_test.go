package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

// cluster writes a CA and two node identities into a temp dir the way an
// operator would, and returns the paths.
type clusterFiles struct {
	dir, ca             string
	cert1, key1         string
	cert2, key2         string
	authority           *CA
	otherCA             *CA
	otherCert, otherKey string
}

func writeCluster(t *testing.T) clusterFiles {
	t.Helper()
	dir := t.TempDir()
	ca := newCA(t, "cluster")
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"seoul-1", "tokyo-1"} {
		certPEM, keyPEM, err := ca.IssueNode(n, []string{"127.0.0.1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteNodeFiles(dir, n, certPEM, keyPEM); err != nil {
			t.Fatal(err)
		}
	}
	other := newCA(t, "someone else")
	otherCert, otherKey, err := other.IssueNode("intruder", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return clusterFiles{
		dir: dir, ca: filepath.Join(dir, CACertFile),
		cert1: filepath.Join(dir, "seoul-1.pem"), key1: filepath.Join(dir, "seoul-1-key.pem"),
		cert2: filepath.Join(dir, "tokyo-1.pem"), key2: filepath.Join(dir, "tokyo-1-key.pem"),
		authority: ca, otherCA: other,
		otherCert: writeFile(t, dir, "intruder.pem", otherCert),
		otherKey:  writeFile(t, dir, "intruder-key.pem", otherKey),
	}
}

func TestLoadIdentityRoundTrip(t *testing.T) {
	cf := writeCluster(t)
	id, err := LoadIdentity(cf.ca, cf.cert1, cf.key1)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	if id.Name != "seoul-1" {
		t.Errorf("Name = %q, want seoul-1", id.Name)
	}
	if id.Cert.Leaf == nil || id.Cert.Leaf.Subject.CommonName != "seoul-1" {
		t.Error("Cert.Leaf not set")
	}
	if _, err := id.Cert.Leaf.Verify(x509.VerifyOptions{Roots: id.Roots}); err != nil {
		t.Errorf("leaf does not verify against Roots: %v", err)
	}
}

func TestResetKey(t *testing.T) {
	cf := writeCluster(t)
	a1, err := LoadIdentity(cf.ca, cf.cert1, cf.key1)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := LoadIdentity(cf.ca, cf.cert1, cf.key1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadIdentity(cf.ca, cf.cert2, cf.key2)
	if err != nil {
		t.Fatal(err)
	}
	if a1.ResetKey() != a2.ResetKey() {
		t.Error("reset key changed across reloads of the same key")
	}
	if a1.ResetKey() == b.ResetKey() {
		t.Error("two nodes share a reset key")
	}
	if a1.ResetKey() == ([32]byte{}) {
		t.Error("reset key is zero")
	}

	// The same key stored as SEC 1 ("EC PRIVATE KEY") gives the same reset
	// key: it depends on the key, not its file format.
	ecKey := a1.Cert.PrivateKey.(*ecdsa.PrivateKey)
	der, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := writeFile(t, cf.dir, "seoul-1-sec1.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	a3, err := LoadIdentity(cf.ca, cf.cert1, sec1)
	if err != nil {
		t.Fatalf("load SEC 1 key: %v", err)
	}
	if a3.ResetKey() != a1.ResetKey() {
		t.Error("reset key depends on the key file format")
	}

	// A hand-built identity derives the same key on demand.
	manual := &Identity{Cert: a1.Cert, Roots: a1.Roots, Name: a1.Name}
	if manual.ResetKey() != a1.ResetKey() {
		t.Error("on-demand reset key differs from the cached one")
	}
	// It is not the raw key material.
	rk := a1.ResetKey()
	if d, _ := ecKey.Bytes(); string(d) == string(rk[:]) {
		t.Error("reset key equals the private scalar")
	}
}

func TestLoadIdentityErrors(t *testing.T) {
	cf := writeCluster(t)
	ca := cf.authority

	expiredFrom, expiredTo := window(-48*time.Hour, -time.Hour)
	expiredCert, expiredKey, err := ca.issue(leafRequest{name: "old", notBefore: expiredFrom, notAfter: expiredTo, eku: nodeEKU})
	if err != nil {
		t.Fatal(err)
	}
	futureFrom, futureTo := window(time.Hour, 2*time.Hour)
	futureCert, futureKey, err := ca.issue(leafRequest{name: "future", notBefore: futureFrom, notAfter: futureTo, eku: nodeEKU})
	if err != nil {
		t.Fatal(err)
	}
	nowFrom, nowTo := window(-time.Minute, time.Hour)
	serverOnlyCert, serverOnlyKey, err := ca.issue(leafRequest{name: "half", notBefore: nowFrom, notAfter: nowTo, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	d := cf.dir
	garbage := writeFile(t, d, "garbage.pem", []byte("this is not a certificate\n"))
	empty := writeFile(t, d, "empty.pem", nil)
	encrypted := writeFile(t, d, "enc-key.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}))

	for _, tc := range []struct {
		name          string
		ca, cert, key string
		wantIs        error
		want          []string
	}{
		{"missing ca", filepath.Join(d, "no-ca.pem"), cf.cert1, cf.key1, fs.ErrNotExist, []string{`ca file`, "no-ca.pem", "does not exist"}},
		{"missing cert", cf.ca, filepath.Join(d, "no.pem"), cf.key1, fs.ErrNotExist, []string{`cert file`, "no.pem", "does not exist"}},
		{"missing key", cf.ca, cf.cert1, filepath.Join(d, "no-key.pem"), fs.ErrNotExist, []string{`key file`, "no-key.pem", "does not exist"}},
		{"garbage ca", garbage, cf.cert1, cf.key1, nil, []string{`ca file`, "garbage.pem", "not PEM"}},
		{"garbage cert", cf.ca, garbage, cf.key1, nil, []string{`cert file`, "garbage.pem", "not PEM"}},
		{"garbage key", cf.ca, cf.cert1, garbage, nil, []string{`key file`, "garbage.pem", "not PEM"}},
		{"empty cert", cf.ca, empty, cf.key1, nil, []string{"empty.pem", "file is empty"}},
		{"key given as cert", cf.ca, cf.key1, cf.key1, nil, []string{"seoul-1-key.pem", "found PRIVATE KEY"}},
		{"cert given as key", cf.ca, cf.cert1, cf.cert1, nil, []string{`key file`, "found CERTIFICATE"}},
		{"encrypted key", cf.ca, cf.cert1, encrypted, nil, []string{"enc-key.pem", "encrypted"}},
		{"wrong key", cf.ca, cf.cert1, cf.key2, nil, []string{"tokyo-1-key.pem", "does not match the certificate in", "seoul-1.pem"}},
		{"leaf as ca", cf.cert2, cf.cert1, cf.key1, nil, []string{"tokyo-1.pem", "is not a ca"}},
		{"other ca", cf.ca, cf.otherCert, cf.otherKey, nil, []string{"intruder.pem", "is not signed by the cluster ca in", CACertFile}},
		{"expired", cf.ca, writeFile(t, d, "old.pem", expiredCert), writeFile(t, d, "old-key.pem", expiredKey), nil, []string{"old.pem", "expired at"}},
		{"not yet valid", cf.ca, writeFile(t, d, "future.pem", futureCert), writeFile(t, d, "future-key.pem", futureKey), nil, []string{"future.pem", "not valid until"}},
		{"server auth only", cf.ca, writeFile(t, d, "half.pem", serverOnlyCert), writeFile(t, d, "half-key.pem", serverOnlyKey), nil, []string{"half.pem", "mutual tls"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := LoadIdentity(tc.ca, tc.cert, tc.key)
			if id != nil {
				t.Error("got an identity along with the error")
			}
			wantErr(t, err, tc.want...)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
}

func TestLoadIdentityAcceptsCABundle(t *testing.T) {
	// During a CA rollover ca.pem holds the old and the new CA.
	cf := writeCluster(t)
	bundle := append(append([]byte(nil), cf.otherCA.CertPEM...), cf.authority.CertPEM...)
	path := writeFile(t, cf.dir, "bundle.pem", bundle)
	if _, err := LoadIdentity(path, cf.cert1, cf.key1); err != nil {
		t.Errorf("node of the second CA in a bundle: %v", err)
	}
	if _, err := LoadIdentity(path, cf.otherCert, cf.otherKey); err != nil {
		t.Errorf("node of the first CA in a bundle: %v", err)
	}
}
