package pki

import (
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Identity is what a node needs for its QUIC links: its own certificate and
// key, and the cluster CA(s) to check peers against.
type Identity struct {
	Cert  tls.Certificate // leaf (plus any chain) with its private key; Leaf is set
	Roots *x509.CertPool  // the cluster CA; never the system roots
	Name  string          // the node name, from the certificate's common name

	resetKey [32]byte
	hasReset bool
}

// devValidity is how long NewIdentity's in-memory certificates last: longer
// than any dev or test run, and the CA's own expiry caps it anyway.
const devValidity = 30 * 24 * time.Hour

// source names the three inputs of an identity in error messages: file
// names for LoadIdentity, fixed labels for in-memory identities.
type source struct{ ca, cert, key string }

// LoadIdentity reads a node identity from PEM files: the cluster CA (which may
// hold several CA certificates, to roll the CA over without downtime), the
// node certificate (optionally followed by its chain) and its private key.
// Every check a handshake would fail on later is made here, and the error
// names the file at fault: missing, not PEM, key not matching the
// certificate, certificate not signed by the CA, expired or not yet valid,
// or lacking server and client usage.
func LoadIdentity(caFile, certFile, keyFile string) (*Identity, error) {
	caPEM, err := readFile("ca file", caFile)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	certPEM, err := readFile("cert file", certFile)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	keyPEM, err := readFile("key file", keyFile)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	id, err := identityFromPEM(source{
		ca:   fmt.Sprintf("ca file %q", caFile),
		cert: fmt.Sprintf("cert file %q", certFile),
		key:  fmt.Sprintf("key file %q", keyFile),
	}, caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	return id, nil
}

// NewIdentity issues a certificate for nodeName and returns it as an Identity
// without touching the disk, for dev meshes and tests.
func (ca *CA) NewIdentity(nodeName string, hosts []string) (*Identity, error) {
	certPEM, keyPEM, err := ca.IssueNode(nodeName, hosts, devValidity)
	if err != nil {
		return nil, err
	}
	id, err := identityFromPEM(source{ca: "ca", cert: "node certificate", key: "node key"}, ca.CertPEM, certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("new identity %q: %w", nodeName, err)
	}
	return id, nil
}

func identityFromPEM(src source, caPEM, certPEM, keyPEM []byte) (*Identity, error) {
	cas, err := parseCerts(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.ca, err)
	}
	roots := x509.NewCertPool()
	for _, c := range cas {
		if !c.IsCA {
			return nil, fmt.Errorf("%s: certificate %q is not a ca", src.ca, c.Subject.CommonName)
		}
		roots.AddCert(c)
	}
	chain, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.cert, err)
	}
	leaf := chain[0]
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.key, err)
	}
	if !keyMatches(key, leaf) {
		return nil, fmt.Errorf("%s does not match the certificate in %s", src.key, src.cert)
	}
	if err := checkValidity(leaf, time.Now()); err != nil {
		return nil, fmt.Errorf("%s: %w", src.cert, err)
	}
	if err := verifyChain(roots, chain, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, describeVerifyError(src, err)
	}
	if err := verifyChain(roots, chain, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, describeVerifyError(src, err)
	}
	if err := ValidateNodeName(leaf.Subject.CommonName); err != nil {
		return nil, fmt.Errorf("%s: common name: %w", src.cert, err)
	}
	rk, err := deriveResetKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.key, err)
	}
	certs := make([][]byte, len(chain))
	for i, c := range chain {
		certs[i] = c.Raw
	}
	return &Identity{
		Cert:     tls.Certificate{Certificate: certs, PrivateKey: key, Leaf: leaf},
		Roots:    roots,
		Name:     leaf.Subject.CommonName,
		resetKey: rk,
		hasReset: true,
	}, nil
}

// verifyChain checks that chain[0] leads to roots (through any further
// certificates in chain) and may be used for eku. No host name is checked;
// see tls.go for why.
func verifyChain(roots *x509.CertPool, chain []*x509.Certificate, eku x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{eku},
	})
	return err
}

func describeVerifyError(src source, err error) error {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return fmt.Errorf("%s is not signed by the cluster ca in %s: %w", src.cert, src.ca, err)
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage {
		return fmt.Errorf("%s cannot be used for mutual tls (needs both server and client auth usage): %w", src.cert, err)
	}
	return fmt.Errorf("%s does not verify against the cluster ca in %s: %w", src.cert, src.ca, err)
}

// resetKeyLabel separates this derivation from any other use of the node
// key; bump the version if the derivation ever changes.
const resetKeyLabel = "relaymesh quic stateless reset key v1"

// ResetKey returns the node's QUIC stateless reset key; pass it as
// quic.Transport.StatelessResetKey (quic.StatelessResetKey(id.ResetKey())).
//
// When a node restarts it has forgotten its connections, and packets peers
// still send on them can only be answered with a stateless reset: a token
// computed from the reset key and the connection ID, which peers accept only
// if it equals the token the previous incarnation announced. The key must
// therefore survive restarts and be secret to the node. Deriving it with HKDF
// from the node's private key gives exactly that without a second secret
// file to provision, and because HKDF is one-way and domain-separated the
// reset key reveals nothing about the TLS key. Without it, peers would wait
// out their idle timeout (seconds of stalled gossip and chat) before noticing
// the restart.
//
// It panics if the identity was built by hand around a key that cannot be
// marshalled; LoadIdentity and NewIdentity never produce one.
func (id *Identity) ResetKey() [32]byte {
	if id.hasReset {
		return id.resetKey
	}
	signer, ok := id.Cert.PrivateKey.(crypto.Signer)
	if !ok {
		panic("pki: identity has no private key to derive a reset key from")
	}
	k, err := deriveResetKey(signer)
	if err != nil {
		panic("pki: " + err.Error())
	}
	return k
}

func deriveResetKey(key crypto.Signer) ([32]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return [32]byte{}, fmt.Errorf("derive reset key: %w", err)
	}
	b, err := hkdf.Key(sha256.New, der, nil, resetKeyLabel, 32)
	if err != nil {
		return [32]byte{}, fmt.Errorf("derive reset key: %w", err)
	}
	return [32]byte(b), nil
}
