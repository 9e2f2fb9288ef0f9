package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"time"
)

// File names WriteFiles uses inside its directory.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

// clockSkew backdates NotBefore so that a certificate issued on one node is
// already valid on a peer whose clock is a little behind.
const clockSkew = 5 * time.Minute

// CA is the cluster certificate authority. Key stays on the machine that
// issues certificates; nodes only need CertPEM.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// NewCA creates a self-signed CA named name, valid from now for validity.
// It may sign only leaf certificates (path length 0): the cluster has no use
// for intermediates, and forbidding them limits what a stolen node key
// could do if a node certificate were ever mistakenly issued as a CA.
func NewCA(name string, validity time.Duration) (*CA, error) {
	if name == "" {
		return nil, errors.New("new ca: empty name")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("new ca: validity must be positive, got %v", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new ca: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"relaymesh"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new ca: sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: parse own certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(der)}, nil
}

// LoadCA reads a CA written by WriteFiles (or by openssl/cfssl: PKCS #8, SEC 1
// and PKCS #1 keys are accepted). It checks that the certificate is a CA that
// may sign certificates, that the key belongs to it and that it is current,
// so that a mistake shows up here rather than as handshake failures later.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := readFile("ca file", certFile)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	certs, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: ca file %q: %w", certFile, err)
	}
	cert := certs[0]
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("load ca: ca file %q: certificate %q is not a ca (no basic constraints ca:true with cert-sign usage)", certFile, cert.Subject.CommonName)
	}
	if err := checkValidity(cert, time.Now()); err != nil {
		return nil, fmt.Errorf("load ca: ca file %q: %w", certFile, err)
	}
	keyPEM, err := readFile("ca key file", keyFile)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: ca key file %q: %w", keyFile, err)
	}
	if !keyMatches(key, cert) {
		return nil, fmt.Errorf("load ca: ca key file %q does not match the certificate in %q", keyFile, certFile)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert.Raw)}, nil
}

// WriteFiles writes ca.pem (0644) and ca-key.pem (0600) into dir, creating
// dir (0700) if needed. It never overwrites: if either file exists it
// returns an error wrapping fs.ErrExist and writes nothing.
func (ca *CA) WriteFiles(dir string) error {
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return fmt.Errorf("write ca files: %w", err)
	}
	if err := mkdir(dir); err != nil {
		return fmt.Errorf("write ca files: %w", err)
	}
	err = writeNew(
		fileSpec{filepath.Join(dir, CAKeyFile), keyPEM, keyMode},
		fileSpec{filepath.Join(dir, CACertFile), ca.CertPEM, certMode},
	)
	if err != nil {
		return fmt.Errorf("write ca files: %w", err)
	}
	return nil
}

// newSerial returns a random positive 128-bit serial number. Random serials
// keep two CAs (or two runs of one) from ever issuing the same one.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generate serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// checkValidity reports a certificate that is expired or not yet valid at
// now, with the date, which x509.Verify's message does not give.
func checkValidity(cert *x509.Certificate, now time.Time) error {
	if now.After(cert.NotAfter) {
		return fmt.Errorf("certificate %q expired at %s", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("certificate %q is not valid until %s (check the clock)", cert.Subject.CommonName, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
