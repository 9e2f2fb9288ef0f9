// Package fetch is the cache-fill protocol between edges: a node that misses
// an HLS object asks the object's owner (see node/hls/owner) for it on a QUIC
// stream of kind link.KindFetch, one request per stream.
//
// Wire layout (all integers big-endian; docs/mesh-protocol.md, "Cache fill
// between edges", has the same):
//
//	request  = version:1 keylen:2 key:keylen
//	response = version:1 status:1 rest
//	  status 0 (ok):   metalen:2 meta:metalen bodylen:8 body:bodylen
//	  status 1..5:     msglen:2 msg:msglen
//
// The stream kind byte that precedes the request belongs to mesh/link and is
// consumed before Serve sees the stream. key is an object key as
// hlskey.Join builds it. meta is a JSON object (see wireMeta). The
// server closes the stream after the response; a peer that wants another
// object opens another stream (streams are cheap in QUIC). The client keeps
// its sending side open until it has the response: the server takes a read
// that returns as the client having gone away.
//
// Every length is checked against its bound before anything is allocated:
// a peer announcing a huge key, meta or body costs nothing.
package fetch

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/cache"
)

// Version is the protocol version, the first byte of every request and
// response. A peer that receives another version answers StatusBadRequest
// (request) or fails the fetch with ErrProtocol (response).
const Version = 1

// Bounds of the variable-length fields.
const (
	// MaxKeyLen bounds keylen. Valid keys are shorter still
	// (origin.MaxKeyLen); this is the framing limit, checked first.
	MaxKeyLen = 1024
	// MaxMetaLen bounds metalen: the JSON meta is a few hundred bytes.
	MaxMetaLen = 4096
	// MaxMessageLen bounds msglen; servers clip longer messages.
	MaxMessageLen = 1024
)

// Status is the second byte of a response.
type Status byte

const (
	StatusOK          Status = 0 // meta and body follow
	StatusNotFound    Status = 1 // the origin says the object does not exist
	StatusUnavailable Status = 2 // the server could not get the object now (origin or its upstream down, timeout, shutting down)
	StatusBadRequest  Status = 3 // malformed request or invalid key
	StatusTooLarge    Status = 4 // the object is larger than the server sends
	StatusInternal    Status = 5 // anything else went wrong at the server
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusUnavailable:
		return "unavailable"
	case StatusBadRequest:
		return "bad request"
	case StatusTooLarge:
		return "too large"
	case StatusInternal:
		return "internal error"
	default:
		return fmt.Sprintf("status %d", byte(s))
	}
}

// wireMeta is the JSON meta of an ok response. Unknown fields are ignored,
// so a newer node may add some. Size is not sent: it is bodylen.
type wireMeta struct {
	ContentType string    `json:"content_type"`
	ETag        string    `json:"etag"`
	Stored      time.Time `json:"stored"` // RFC 3339 with nanoseconds
	Immutable   bool      `json:"immutable"`
	Expires     time.Time `json:"expires,omitzero"` // absent for immutable objects
}

// validKey accepts exactly the keys hlskey.Join builds: "{stream}/{path}"
// with a valid stream name and a clean relative path.
func validKey(key string) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key is %d bytes, more than %d", hlskey.ErrInvalid, len(key), MaxKeyLen)
	}
	return hlskey.Check(key)
}

// appendRequest appends the request for key to b. The key must be valid.
func appendRequest(b []byte, key string) []byte {
	b = append(b, Version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

// readRequest reads one request and returns its key, validated. Its errors
// wrap ErrProtocol (bad framing) or hlskey.ErrInvalid (a bad key), both
// worth an answer, or are the stream's read error (io.ErrUnexpectedEOF for
// a truncated request), which is not.
func readRequest(r io.Reader) (string, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", fmt.Errorf("reading request header: %w", noEOF(err))
	}
	if hdr[0] != Version {
		return "", fmt.Errorf("%w: request version %d, want %d", ErrProtocol, hdr[0], Version)
	}
	n := int(binary.BigEndian.Uint16(hdr[1:]))
	if n > MaxKeyLen {
		return "", fmt.Errorf("%w: request key length %d is more than %d", ErrProtocol, n, MaxKeyLen)
	}
	key := make([]byte, n)
	if _, err := io.ReadFull(r, key); err != nil {
		return "", fmt.Errorf("reading request key (%d bytes): %w", n, noEOF(err))
	}
	if err := validKey(string(key)); err != nil {
		return "", err
	}
	return string(key), nil
}

// appendOKHeader appends everything of an ok response but the body.
func appendOKHeader(b []byte, e cache.Entry) ([]byte, error) {
	meta, err := json.Marshal(wireMeta{
		ContentType: e.ContentType,
		ETag:        e.ETag,
		Stored:      e.Stored,
		Immutable:   e.Immutable,
		Expires:     e.Expires,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding meta: %w", err)
	}
	if len(meta) > MaxMetaLen {
		return nil, fmt.Errorf("meta is %d bytes, more than %d", len(meta), MaxMetaLen)
	}
	b = append(b, Version, byte(StatusOK))
	b = binary.BigEndian.AppendUint16(b, uint16(len(meta)))
	b = append(b, meta...)
	return binary.BigEndian.AppendUint64(b, uint64(len(e.Body))), nil
}

// appendError appends an error response, msg clipped to MaxMessageLen.
func appendError(b []byte, s Status, msg string) []byte {
	if len(msg) > MaxMessageLen {
		msg = msg[:MaxMessageLen]
	}
	b = append(b, Version, byte(s))
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

// readResponse reads one response. An ok response gives the entry (Key
// unset); an error response gives a *StatusError; a malformed one an error
// wrapping ErrProtocol; a body announced longer than maxBody an error
// wrapping ErrTooLarge, before any of it is read. A response cut short, or
// any other read error, wraps ErrPeerFailed (and io.ErrUnexpectedEOF for a
// truncated one).
func readResponse(r io.Reader, maxBody int64) (cache.Entry, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: reading response header: %w", ErrPeerFailed, noEOF(err))
	}
	if hdr[0] != Version {
		return cache.Entry{}, fmt.Errorf("%w: response version %d, want %d", ErrProtocol, hdr[0], Version)
	}
	status := Status(hdr[1])
	if status > StatusInternal {
		return cache.Entry{}, fmt.Errorf("%w: unknown response status %d", ErrProtocol, hdr[1])
	}
	if _, err := io.ReadFull(r, hdr[2:4]); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: reading response (%v) length: %w", ErrPeerFailed, status, noEOF(err))
	}
	n := int(binary.BigEndian.Uint16(hdr[2:4]))

	if status != StatusOK {
		if n > MaxMessageLen {
			return cache.Entry{}, fmt.Errorf("%w: error message length %d is more than %d", ErrProtocol, n, MaxMessageLen)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return cache.Entry{}, fmt.Errorf("%w: reading error message (%d bytes): %w", ErrPeerFailed, n, noEOF(err))
		}
		return cache.Entry{}, &StatusError{Status: status, Msg: strings.ToValidUTF8(string(msg), "\uFFFD")}
	}

	if n > MaxMetaLen {
		return cache.Entry{}, fmt.Errorf("%w: meta length %d is more than %d", ErrProtocol, n, MaxMetaLen)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: reading meta (%d bytes): %w", ErrPeerFailed, n, noEOF(err))
	}
	var m wireMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: decoding meta: %w", ErrProtocol, err)
	}
	var lb [8]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: reading body length: %w", ErrPeerFailed, noEOF(err))
	}
	size := binary.BigEndian.Uint64(lb[:])
	if maxBody < 0 || size > uint64(maxBody) {
		return cache.Entry{}, fmt.Errorf("%w: peer announced %d bytes, the limit is %d", ErrTooLarge, size, maxBody)
	}
	body, err := readBody(r, int64(size))
	if err != nil {
		return cache.Entry{}, fmt.Errorf("%w: reading body (%d bytes): %w", ErrPeerFailed, size, noEOF(err))
	}
	return cache.Entry{Body: body, Meta: cache.Meta{
		ContentType: m.ContentType,
		ETag:        m.ETag,
		Size:        int64(len(body)),
		Stored:      m.Stored,
		Immutable:   m.Immutable,
		Expires:     m.Expires,
	}}, nil
}

// bodyChunk is how much of a body is allocated before its bytes arrive. A
// body is allocated in steps that at most double what has arrived, so a peer
// that announces maxBody and then stalls holds at most bodyChunk of memory.
const bodyChunk = 256 << 10

// readBody reads exactly n bytes. n has been checked against the caller's
// bound.
func readBody(r io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, 0, min(n, bodyChunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		m, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, fmt.Errorf("after %d bytes: %w", len(buf), noEOF(err))
		}
	}
	return buf, nil
}

// noEOF turns a clean EOF into io.ErrUnexpectedEOF: every read of this
// protocol is of bytes that were announced, so an EOF is a truncation.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
