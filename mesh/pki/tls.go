package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Why the configs below turn off Go's own verification.
//
// Nodes dial each other by IP:port: elastic IPs in the cloud, 127.0.0.x in
// dev, addresses learnt from gossip. Certificates name nodes, not addresses,
// and putting every current IP into every certificate would mean reissuing
// on each redeploy. Go's client cannot skip only the host name check, so the
// client sets InsecureSkipVerify and the server asks for any certificate,
// and both then run the same VerifyConnection: the peer's chain must lead to
// the cluster CA and allow the usage for its side of the link (server auth
// for the node we dialled, client auth for the node that dialled us). Using
// one function on both sides keeps the two directions' rules identical.
// VerifyConnection also runs on resumed sessions, so resumption cannot
// bypass it. The peer's identity is its common name (PeerName), which the
// mesh checks against the name gossiped for that address.

// ServerTLS returns the config for accepting links: TLS 1.3 only, a client
// certificate required and verified against the cluster CA, and, if alpn is
// not empty, that protocol required.
func (id *Identity) ServerTLS(alpn string) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{id.Cert},
		ClientAuth:       tls.RequireAnyClientCert, // verified in VerifyConnection
		NextProtos:       protos(alpn),
		VerifyConnection: id.verifier(x509.ExtKeyUsageClientAuth, alpn),
	}
}

// ClientTLS returns the config for dialling links: TLS 1.3 only, the node's
// certificate offered, and the server verified against the cluster CA
// without a host name check.
func (id *Identity) ClientTLS(alpn string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{id.Cert},
		InsecureSkipVerify: true, // verified in VerifyConnection; see above
		NextProtos:         protos(alpn),
		VerifyConnection:   id.verifier(x509.ExtKeyUsageServerAuth, alpn),
	}
}

func protos(alpn string) []string {
	if alpn == "" {
		return nil
	}
	return []string{alpn}
}

func (id *Identity) verifier(eku x509.ExtKeyUsage, alpn string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		return id.verifyPeer(cs, eku, alpn)
	}
}

// verifyPeer is the whole trust decision for a link.
func (id *Identity) verifyPeer(cs tls.ConnectionState, eku x509.ExtKeyUsage, alpn string) error {
	// A nil pool would make x509 fall back to the system roots, trusting
	// every public CA; refuse instead.
	if id.Roots == nil {
		return errors.New("verify peer: identity has no cluster ca; refusing to fall back to system roots")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("verify peer: peer presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if err := verifyChain(id.Roots, cs.PeerCertificates, eku); err != nil {
		return fmt.Errorf("verify peer: certificate %q rejected: %w", leaf.Subject.CommonName, err)
	}
	if err := ValidateNodeName(leaf.Subject.CommonName); err != nil {
		return fmt.Errorf("verify peer: certificate: %w", err)
	}
	if alpn != "" && cs.NegotiatedProtocol != alpn {
		return fmt.Errorf("verify peer %q: negotiated protocol %q, want %q", leaf.Subject.CommonName, cs.NegotiatedProtocol, alpn)
	}
	return nil
}

// PeerName returns the node name (certificate common name) of the peer of a
// link whose handshake used ServerTLS or ClientTLS. Those configs verify the
// peer during the handshake, so a completed handshake means the name is
// vouched for by the cluster CA; cs itself carries no verified chains
// (InsecureSkipVerify leaves them empty), so do not use PeerName on
// connections set up with other configs.
func PeerName(cs tls.ConnectionState) (string, error) {
	if !cs.HandshakeComplete {
		return "", errors.New("peer name: handshake not complete")
	}
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("peer name: peer presented no certificate")
	}
	name := cs.PeerCertificates[0].Subject.CommonName
	if err := ValidateNodeName(name); err != nil {
		return "", fmt.Errorf("peer name: %w", err)
	}
	return name, nil
}
