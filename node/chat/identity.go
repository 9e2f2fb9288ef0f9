package chat

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Identity is who a fan is, as far as chat is concerned.
type Identity struct {
	User    string // shown with every message the fan posts
	CanPost bool   // false: the fan may read but not post (not_allowed)
}

// Authenticator decides who is behind a WebSocket request. Anonymous is
// the default; a token-checking one can replace it without touching the
// protocol (posting "may require a token later").
type Authenticator interface {
	Identify(r *http.Request) (Identity, error)
}

// Anonymous lets everyone read and post under a random name per
// connection.
type Anonymous struct{}

// Identify implements Authenticator.
func (Anonymous) Identify(*http.Request) (Identity, error) {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return Identity{User: "anon-" + hex.EncodeToString(b[:]), CanPost: true}, nil
}
