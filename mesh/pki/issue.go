package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// nodeEKU is what every node certificate carries: one certificate serves
// both ends of a link, since any node may dial or accept any other.
var nodeEKU = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

// IssueNode issues a certificate for node nodeName: CN=nodeName, with SANs for
// every host in hosts (IP addresses and DNS names) plus nodeName as a DNS
// name, usable for both server and client authentication. It returns the
// certificate and its fresh P-256 key as PEM. A validity reaching past the
// CA's own expiry is cut to it, since the certificate could not verify after
// that anyway.
func (ca *CA) IssueNode(nodeName string, hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("issue node %q: validity must be positive, got %v", nodeName, validity)
	}
	now := time.Now()
	return ca.issue(leafRequest{
		name:      nodeName,
		hosts:     hosts,
		notBefore: now.Add(-clockSkew),
		notAfter:  now.Add(validity),
		eku:       nodeEKU,
	})
}

// leafRequest is IssueNode's input with the fields tests need to vary
// (validity window, usages) exposed.
type leafRequest struct {
	name                string
	hosts               []string
	notBefore, notAfter time.Time
	eku                 []x509.ExtKeyUsage
}

func (ca *CA) issue(req leafRequest) (certPEM, keyPEM []byte, err error) {
	if err := ValidateNodeName(req.name); err != nil {
		return nil, nil, fmt.Errorf("issue node: %w", err)
	}
	dns, ips, err := splitHosts(req.name, req.hosts)
	if err != nil {
		return nil, nil, fmt.Errorf("issue node %q: %w", req.name, err)
	}
	if err := checkValidity(ca.Cert, time.Now()); err != nil {
		return nil, nil, fmt.Errorf("issue node %q: ca: %w", req.name, err)
	}
	notAfter := req.notAfter
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("issue node %q: generate key: %w", req.name, err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("issue node %q: %w", req.name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.name, Organization: []string{"relaymesh"}},
		NotBefore:             req.notBefore,
		NotAfter:              notAfter,
		DNSNames:              dns,
		IPAddresses:           ips,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           req.eku,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue node %q: sign: %w", req.name, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue node %q: %w", req.name, err)
	}
	return encodeCert(der), keyPEM, nil
}

// WriteNodeFiles writes <name>.pem (0644) and <name>-key.pem (0600) into dir,
// creating dir (0700) if needed. Like CA.WriteFiles it never overwrites and
// writes nothing if either file exists.
func WriteNodeFiles(dir, name string, certPEM, keyPEM []byte) error {
	if err := ValidateNodeName(name); err != nil {
		return fmt.Errorf("write node files: %w", err)
	}
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return fmt.Errorf("write node files for %q: empty certificate or key", name)
	}
	if err := mkdir(dir); err != nil {
		return fmt.Errorf("write node files for %q: %w", name, err)
	}
	err := writeNew(
		fileSpec{filepath.Join(dir, name+"-key.pem"), keyPEM, keyMode},
		fileSpec{filepath.Join(dir, name+".pem"), certPEM, certMode},
	)
	if err != nil {
		return fmt.Errorf("write node files for %q: %w", name, err)
	}
	return nil
}

// ValidateNodeName checks that name can serve as a certificate common name, a
// DNS SAN and a file name: 1 to 63 letters, digits, '-' and '.', starting and
// ending with a letter or digit. The rules exclude path separators and "..",
// so WriteNodeFiles cannot be steered outside its directory.
func ValidateNodeName(name string) error {
	if name == "" {
		return errors.New("empty node name")
	}
	if len(name) > 63 {
		return fmt.Errorf("node name %q is longer than 63 characters", name)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if alnum {
			continue
		}
		if (r == '-' || r == '.') && i != 0 && i != len(name)-1 {
			continue
		}
		return fmt.Errorf("node name %q: character %q at %d not allowed (letters, digits, inner '-' and '.')", name, r, i)
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("node name %q contains \"..\"", name)
	}
	return nil
}

// splitHosts sorts hosts into DNS names and IP addresses, adds name as a DNS
// name and drops duplicates.
func splitHosts(name string, hosts []string) (dns []string, ips []net.IP, err error) {
	dns = []string{name}
	var seen []netip.Addr
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, nil, errors.New("empty host in list")
		}
		if a, perr := netip.ParseAddr(h); perr == nil {
			a = a.Unmap()
			if a.Zone() != "" {
				return nil, nil, fmt.Errorf("host %q: ip addresses with a zone cannot go in a certificate", h)
			}
			if !slices.Contains(seen, a) {
				seen = append(seen, a)
				ips = append(ips, net.IP(a.AsSlice()))
			}
			continue
		}
		h = strings.TrimSuffix(h, ".") // certificates carry names without the root dot
		if err := validateDNSName(h); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(dns, h) {
			dns = append(dns, h)
		}
	}
	return dns, ips, nil
}

func validateDNSName(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("host %q: longer than 253 characters", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is neither an ip address nor a valid dns name", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q is neither an ip address nor a valid dns name", h)
			}
		}
	}
	return nil
}
