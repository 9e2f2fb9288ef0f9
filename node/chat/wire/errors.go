package wire

import "fmt"

// Code is the machine-readable reason of an error frame. Clients switch on
// it; Message is for humans and may change between versions.
type Code string

// Error codes. Every error leaves the connection open except those for which
// Code.Closes reports true: the server then closes the WebSocket with
// CloseStatus (the error frame may not get through first, so clients treat
// that close status as the error).
const (
	// CodeBadFrame: the frame is not a JSON object, is larger than
	// Limits.MaxFrameBytes, repeats a key, lacks "type", has a field of the
	// wrong JSON type, or is not valid UTF-8 outside "text" and "nonce".
	CodeBadFrame Code = "bad_frame"
	// CodeUnknownType: "type" is a string this server does not know.
	CodeUnknownType Code = "unknown_type"
	// CodeEmptyText: a publish without text, or with only white space.
	CodeEmptyText Code = "empty_text"
	// CodeTextTooLong: a publish whose text is longer than
	// Limits.MaxTextBytes (counted in UTF-8 bytes after JSON unescaping).
	CodeTextTooLong Code = "text_too_long"
	// CodeBadText: text that is not valid UTF-8 (raw invalid bytes or an
	// unpaired \uD800-\uDFFF escape) or holds a control character other than
	// "\n" and "\t".
	CodeBadText Code = "bad_text"
	// CodeBadNonce: a nonce that is not a string of at most MaxNonceBytes
	// printable ASCII characters.
	CodeBadNonce Code = "bad_nonce"
	// CodeRateLimited: the client's IP published faster than the configured
	// rate; the message was dropped.
	CodeRateLimited Code = "rate_limited"
	// CodeBinaryFrame: a binary WebSocket frame; only text frames are part
	// of the protocol.
	CodeBinaryFrame Code = "binary_frame"
	// CodeBadRoom: the room query parameter is missing, repeated or not a
	// valid room name (see ValidRoom). The edge answers it with HTTP 400
	// before the upgrade; on an open connection it would close it.
	CodeBadRoom Code = "bad_room"
	// CodeBadSince: the since query parameter is repeated or not a valid
	// list of ids (see ParseSince). As CodeBadRoom.
	CodeBadSince Code = "bad_since"
	// CodeNotAllowed: the fan may read but not post (posting may require an
	// identity).
	CodeNotAllowed Code = "not_allowed"
	// CodeTooSlow: the fan did not read its frames fast enough and its send
	// queue filled up. Closes the connection; the fan reconnects with since=
	// and loses nothing the edge still holds.
	CodeTooSlow Code = "too_slow"
	// CodeInternal: the edge failed (e.g. its store did not take the
	// message); the client may retry.
	CodeInternal Code = "internal"
)

// CodeBadLimit is for HTTP only: the limit parameter of the history
// endpoint is not an integer in 1-MaxHistoryLimit (see ParseHistoryLimit).
// It is never sent in a frame, so Codes does not list it.
const CodeBadLimit Code = "bad_limit"

// CloseStatus is the WebSocket close status (RFC 6455 1008, policy
// violation) the server sends after an error whose code closes the
// connection.
const CloseStatus = 1008

// Closes reports whether the server closes the connection after sending an
// error with this code. The join parameters (room, since) cannot be fixed on
// an open connection, and a fan that does not read cannot be served.
func (c Code) Closes() bool {
	switch c {
	case CodeTooSlow, CodeBadRoom, CodeBadSince:
		return true
	}
	return false
}

// Codes returns every error code a frame can carry, in the order of the
// protocol document.
func Codes() []Code {
	return []Code{
		CodeBadFrame, CodeUnknownType, CodeEmptyText, CodeTextTooLong, CodeBadText,
		CodeBadNonce, CodeRateLimited, CodeBinaryFrame, CodeBadRoom, CodeBadSince,
		CodeNotAllowed, CodeTooSlow, CodeInternal,
	}
}

// Error is the error frame, {"type":"error","code":...,"message":...,
// "nonce":...}, and the error DecodeClientFrame returns: the server sends it
// as it is. Nonce is the client frame's nonce when it could be read, so the
// client can tell which publish failed.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Nonce   string `json:"nonce,omitempty"`
}

// Error renders "code: message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// FrameType implements ServerFrame.
func (Error) FrameType() string { return TypeError }

// Errorf builds an error frame with a formatted message.
func Errorf(code Code, nonce, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Nonce: nonce}
}

// clip shortens a client-supplied string before it is quoted in an error
// message, so a 4 KiB frame cannot make a 4 KiB error frame.
func clip(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	// Cut at a rune boundary so %q does not show a split character.
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
