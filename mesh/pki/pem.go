package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// PEM block types written by this package. Keys are PKCS #8 so that the
// files stay readable if the key algorithm ever changes.
const (
	pemCert = "CERTIFICATE"
	pemKey  = "PRIVATE KEY"
)

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der})
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

// parseCerts returns every CERTIFICATE block in data, in order. It fails if
// there is none, naming what was found instead, so that a key file passed as
// a cert file is reported as such.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	var other []string
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != pemCert {
			other = append(other, b.Type)
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) > 0 {
		return certs, nil
	}
	return nil, noBlock(data, pemCert, other)
}

// parseKey returns the first private key in data: PKCS #8, SEC 1 ("EC
// PRIVATE KEY") or PKCS #1, the forms openssl and cfssl write.
func parseKey(data []byte) (crypto.Signer, error) {
	var other []string
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("private key is encrypted; decrypt it first (relaymesh cannot prompt for a passphrase)")
		default:
			other = append(other, b.Type)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s block: %w", b.Type, err)
		}
		switch s := k.(type) {
		case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
			return s.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
	}
	return nil, noBlock(data, "PRIVATE KEY", other)
}

func noBlock(data []byte, want string, found []string) error {
	switch {
	case len(strings.TrimSpace(string(data))) == 0:
		return errors.New("file is empty")
	case len(found) > 0:
		return fmt.Errorf("no %s PEM block (found %s)", want, strings.Join(found, ", "))
	default:
		return fmt.Errorf("not PEM: no %s block found", want)
	}
}

// keyMatches reports whether key is the private half of cert's public key.
func keyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
