package wire

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Client frame types.
const (
	TypePublish = "publish" // post text to the room
	TypePing    = "ping"    // ask for a pong (keep-alive through proxies, RTT)
)

// Protocol limits and defaults.
const (
	// DefaultMaxFrameBytes is the default largest client frame: a publish of
	// DefaultMaxTextBytes, even with every character escaped, plus the
	// envelope and nonce fits comfortably.
	DefaultMaxFrameBytes = 4096
	// DefaultMaxTextBytes is the default longest text, in UTF-8 bytes.
	DefaultMaxTextBytes = 500
	// MaxNonceBytes is the longest nonce; it is echoed back, so it is short.
	MaxNonceBytes = 64
)

// Limits bound what DecodeClientFrame accepts. A zero field means its
// default (DefaultMaxFrameBytes, DefaultMaxTextBytes); the node fills both
// from the chat config.
type Limits struct {
	MaxFrameBytes int // largest frame, in bytes, before any parsing
	MaxTextBytes  int // longest publish text, in UTF-8 bytes after unescaping
}

func (l Limits) withDefaults() Limits {
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	return l
}

// ClientFrame is a decoded, checked client frame. Text is set for publish
// frames only; Nonce is "" when the client sent none.
type ClientFrame struct {
	Type  string // TypePublish or TypePing
	Text  string
	Nonce string
}

// DecodeClientFrame decodes and checks one WebSocket text frame from a fan.
// On failure it returns an error frame to send as is, carrying the frame's
// nonce whenever the nonce itself could be read; the connection stays open.
//
// It is strict where leniency would let clients disagree with the server:
// the frame must be one JSON object of at most limits.MaxFrameBytes, keys
// are case-sensitive, "type", "text" and "nonce" may each appear once, and
// strings must be valid UTF-8 without unpaired surrogate escapes. Unknown
// keys are ignored, so newer clients can add fields; an unknown "type" is an
// error, so a client learns that the server does not understand it.
//
// The checks run in this order, and the first failure is returned: size,
// JSON syntax, object, nonce, duplicate keys, type, text (publish only),
// UTF-8 of the whole frame.
func DecodeClientFrame(data []byte, limits Limits) (ClientFrame, *Error) {
	limits = limits.withDefaults()
	if len(data) > limits.MaxFrameBytes {
		return ClientFrame{}, Errorf(CodeBadFrame, "", "frame is %d bytes; the limit is %d", len(data), limits.MaxFrameBytes)
	}
	if !json.Valid(data) {
		return ClientFrame{}, Errorf(CodeBadFrame, "", "frame is not valid JSON")
	}
	var buf [8]member
	members, ok := objectMembers(data, buf[:0])
	if !ok {
		return ClientFrame{}, Errorf(CodeBadFrame, "", "frame must be a JSON object")
	}

	var typ, text, nonce []byte
	var dup string
	for _, m := range members {
		var slot *[]byte
		switch string(keyName(m.key)) {
		case "type":
			slot = &typ
		case "text":
			slot = &text
		case "nonce":
			slot = &nonce
		default:
			continue // unknown keys are for newer clients
		}
		if *slot != nil && dup == "" {
			dup = string(keyName(m.key))
		}
		*slot = m.value
	}

	var f ClientFrame
	if dup == "nonce" {
		return ClientFrame{}, Errorf(CodeBadFrame, "", `key "nonce" appears more than once`)
	}
	if nonce != nil && !isNull(nonce) {
		n, e := decodeNonce(nonce)
		if e != nil {
			return ClientFrame{}, e
		}
		f.Nonce = n
	}
	if dup != "" {
		return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, "key %q appears more than once", dup)
	}

	if typ == nil || isNull(typ) {
		return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, `frame has no "type"`)
	}
	if !isString(typ) {
		return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, `"type" must be a string`)
	}
	t, err := unquoteBytes(typ)
	if err != nil {
		return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, `"type" is %v`, err)
	}
	switch string(t) {
	case TypePing:
		f.Type = TypePing
	case TypePublish:
		f.Type = TypePublish
		if text == nil || isNull(text) {
			return ClientFrame{}, Errorf(CodeEmptyText, f.Nonce, "publish has no text")
		}
		if !isString(text) {
			return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, `"text" must be a string`)
		}
		s, err := unquote(text)
		if err != nil {
			return ClientFrame{}, Errorf(CodeBadText, f.Nonce, "text is %v", err)
		}
		if e := CheckText(s, limits.MaxTextBytes); e != nil {
			e.Nonce = f.Nonce
			return ClientFrame{}, e
		}
		f.Text = s
	default:
		return ClientFrame{}, Errorf(CodeUnknownType, f.Nonce, "unknown frame type %q (want %q or %q)", clip(string(t)), TypePublish, TypePing)
	}
	// Invalid UTF-8 in a key or an ignored field: a WebSocket text frame must
	// be UTF-8 (RFC 6455), and a frame that is not is not one to act on.
	if !utf8.Valid(data) {
		return ClientFrame{}, Errorf(CodeBadFrame, f.Nonce, "frame is not valid UTF-8")
	}
	return f, nil
}

// keyName returns an object key without its quotes, unescaped. A key that
// cannot be unescaped matches no known key; the final UTF-8 check reports it.
func keyName(raw []byte) []byte {
	k, err := unquoteBytes(raw)
	if err != nil {
		return nil
	}
	return k
}

// unquoteBytes is unquote without the allocation for the usual string
// without escapes, for values that are only compared: it may return a
// sub-slice of raw.
func unquoteBytes(raw []byte) ([]byte, error) {
	if len(raw) < 2 {
		return nil, errBadEscape
	}
	plain := raw[1 : len(raw)-1]
	for _, c := range plain {
		if c == '\\' || c >= utf8.RuneSelf {
			s, err := unquote(raw)
			return []byte(s), err
		}
	}
	return plain, nil
}

// decodeNonce checks a raw nonce value: a string of at most MaxNonceBytes
// printable ASCII characters (space included), safe to echo and to log. An
// empty nonce is the same as none.
func decodeNonce(raw []byte) (string, *Error) {
	if !isString(raw) {
		return "", Errorf(CodeBadNonce, "", "nonce must be a string")
	}
	n, err := unquote(raw)
	if err != nil {
		return "", Errorf(CodeBadNonce, "", "nonce is %v", err)
	}
	if len(n) > MaxNonceBytes {
		return "", Errorf(CodeBadNonce, "", "nonce is %d bytes; the limit is %d", len(n), MaxNonceBytes)
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] > 0x7e {
			return "", Errorf(CodeBadNonce, "", "nonce must be printable ASCII; byte %d is 0x%02x", i, n[i])
		}
	}
	return n, nil
}

// CheckText applies the rules for message text: not empty or only white
// space, at most maxBytes bytes of UTF-8, no control characters other than
// "\n" and "\t" (no "\r": browsers send line breaks as "\n"). It returns nil
// for good text, or an error frame without a nonce. The server applies it to
// publishes (through DecodeClientFrame) and to messages from backend
// services; maxBytes <= 0 means DefaultMaxTextBytes.
func CheckText(text string, maxBytes int) *Error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTextBytes
	}
	if !utf8.ValidString(text) {
		return Errorf(CodeBadText, "", "text is not valid UTF-8")
	}
	if strings.TrimSpace(text) == "" {
		return Errorf(CodeEmptyText, "", "text is empty")
	}
	if len(text) > maxBytes {
		return Errorf(CodeTextTooLong, "", "text is %d bytes; the limit is %d", len(text), maxBytes)
	}
	for i, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return Errorf(CodeBadText, "", "text holds control character %U at byte %d", r, i)
		}
	}
	return nil
}
