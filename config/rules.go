package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Small, pure checks shared by the sections' validators. Each returns "" when
// the value is fine, or a message ending in the quoted bad value.

// nodeNamePattern is a DNS label: the node name also appears in host names.
var nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// addrRule says what an address field accepts.
type addrRule struct {
	listen bool // a bind address: the host may be unspecified, port 0 picks one
}

// checkAddr validates a host:port. Ports must be numeric (no service names:
// the address is also handed to other nodes and fans, which may resolve
// service names differently).
func checkAddr(s string, rule addrRule) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		reason := err.Error()
		if ae := (*net.AddrError)(nil); errors.As(err, &ae) {
			reason = ae.Err
		}
		return fmt.Sprintf("must be host:port (%s); got %q", reason, s)
	}
	n, err := strconv.Atoi(port)
	minPort := 1
	if rule.listen {
		minPort = 0
	}
	if err != nil || n < minPort || n > 65535 {
		return fmt.Sprintf("port must be a number in %d-65535; got %q", minPort, s)
	}
	if msg := checkHost(host); msg != "" {
		return fmt.Sprintf("%s; got %q", msg, s)
	}
	if !rule.listen && unspecifiedHost(host) {
		return fmt.Sprintf("host must be an address others can dial, not empty, 0.0.0.0 or ::; got %q", s)
	}
	return ""
}

// checkHost accepts an IP address, a DNS name or "" (left to the caller).
func checkHost(h string) string {
	if h == "" {
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if validHostname(h) {
		return ""
	}
	return "host must be an IP address or a DNS name"
}

// validHostname reports whether h is a DNS name of letters, digits, hyphens
// and underscores (seen in internal names), in dot-separated labels of at most
// 63 characters that do not start or end with a hyphen.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// unspecifiedHost reports whether a bind host means "every interface".
func unspecifiedHost(h string) bool {
	if h == "" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsUnspecified()
}

// checkEndpoint validates an S3 endpoint: host or host:port, no scheme, no
// path. minio-go wants exactly that and picks the scheme from use_tls.
func checkEndpoint(s string) string {
	if strings.Contains(s, "://") {
		return fmt.Sprintf("must be host[:port] without a scheme (use_tls picks https or http); got %q", s)
	}
	if strings.ContainsAny(s, "/?#") {
		return fmt.Sprintf("must be host[:port] without a path (the bucket has its own field); got %q", s)
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return checkAddr(s, addrRule{})
	}
	if msg := checkHost(s); msg != "" || unspecifiedHost(s) {
		return fmt.Sprintf("must be host[:port]; got %q", s)
	}
	return ""
}

// checkBucket applies the S3 bucket naming rules that matter for a path-style
// or virtual-host-style request to work everywhere.
func checkBucket(b string) string {
	const rule = "must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
	if len(b) < 3 || len(b) > 63 {
		return fmt.Sprintf("%s; got %q (%d characters)", rule, b, len(b))
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return fmt.Sprintf("%s; got %q", rule, b)
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Sprintf("%s; got %q", rule, b)
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return fmt.Sprintf("must not contain \"..\", \".-\" or \"-.\"; got %q", b)
	}
	if a, err := netip.ParseAddr(b); err == nil && a.Is4() {
		return fmt.Sprintf("must not be an IP address; got %q", b)
	}
	return ""
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// checkOneOf validates an enum; the message lists the valid values so the fix
// is in the error.
func checkOneOf(s string, valid ...string) string {
	for _, v := range valid {
		if s == v {
			return ""
		}
	}
	return fmt.Sprintf("must be one of %s; got %q", strings.Join(valid, ", "), s)
}
