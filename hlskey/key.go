// Package hlskey is the grammar of HLS object keys, "{stream}/{path}": the
// one place that builds a key from a request's stream and path, checks a
// key that arrives whole (from peers, playlists, the spool), names a key's
// stream and tells playlists from media by the extension. Every layer (the
// HTTP handlers, the caches, the fill protocol, the origin client) reads a
// key the same way because they all ask this package. Pure code.
package hlskey

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on object keys. HLS paths are short ("index.m3u8",
// "1080p/seg-000123.m4s"); the limits leave room for any sane layout and
// keep hostile paths from costing anything.
const (
	MaxStreamLen    = 64  // stream names: ^[a-z0-9][a-z0-9_-]{0,63}$
	MaxKeyLen       = 512 // bytes of the whole key, "{stream}/{path}"
	MaxPathSegments = 16  // segments of path, separated by "/"
)

// ErrInvalid is wrapped by every error from Join and Check (and by origin
// client calls given a key that Check refuses): the request is bad, and
// nobody downstream was asked.
var ErrInvalid = errors.New("invalid object key")

// Error says why a stream and path do not make an object key.
type Error struct {
	Stream, Path string
	Reason       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("hlskey: %v %s/%s: %s", ErrInvalid, clip(e.Stream), clip(e.Path), e.Reason)
}

// clip quotes s for a message, cut short: a hostile path does not get to
// fill the logs.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...(%d bytes)", s[:max], len(s))
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Join is the one place that turns a stream name and a path taken from
// an HTTP request into an object key, "{stream}/{path}". The path must
// already be unescaped (as net/http's PathValue gives it): a '%' left in it
// means double encoding and is refused rather than guessed at.
//
// It refuses anything that could leave the stream's prefix or mean
// different things to different layers: empty, "." or ".." segments, a
// leading "/", backslashes, control and format characters (NUL, CR/LF,
// bidi overrides, ...), invalid UTF-8 (overlong encodings of "." among
// them), '%', more than MaxPathSegments segments or more than MaxKeyLen
// bytes. Every accepted key has exactly the stream as its first segment.
func Join(stream, path string) (string, error) {
	if err := validStream(stream); err != "" {
		return "", &Error{Stream: stream, Path: path, Reason: err}
	}
	if err := validPath(path); err != "" {
		return "", &Error{Stream: stream, Path: path, Reason: err}
	}
	key := stream + "/" + path
	if len(key) > MaxKeyLen {
		return "", &Error{Stream: stream, Path: path,
			Reason: fmt.Sprintf("key is %d bytes, more than %d", len(key), MaxKeyLen)}
	}
	return key, nil
}

// Check validates a whole key as Join built it ("{stream}/{path}"): for
// keys that arrive whole, from peers, playlists and the origin client's
// callers.
func Check(key string) error {
	stream, path, ok := strings.Cut(key, "/")
	if !ok {
		return &Error{Stream: key, Reason: `key has no "/" between stream and path`}
	}
	_, err := Join(stream, path)
	return err
}

// Stream is the stream of a key that Join built or Check accepted: its
// first segment.
func Stream(key string) string {
	stream, _, _ := strings.Cut(key, "/")
	return stream
}

func validStream(s string) string {
	if s == "" {
		return "stream name is empty"
	}
	if len(s) > MaxStreamLen {
		return fmt.Sprintf("stream name is %d bytes, more than %d", len(s), MaxStreamLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		case c == '-' || c == '_':
			return "stream name must start with a lowercase letter or digit"
		default:
			return fmt.Sprintf("stream name has %q at byte %d: only a-z, 0-9, '-' and '_' are allowed", c, i)
		}
	}
	return ""
}

func validPath(p string) string {
	switch {
	case p == "":
		return "path is empty"
	case len(p) > MaxKeyLen:
		return fmt.Sprintf("path is %d bytes, more than %d", len(p), MaxKeyLen)
	case p[0] == '/':
		return `path starts with "/" (absolute paths are not allowed)`
	case !utf8.ValidString(p):
		return "path is not valid UTF-8"
	}
	for i, r := range p {
		switch {
		case r == 0:
			return fmt.Sprintf("path has a NUL byte at byte %d", i)
		case r == '\\':
			return fmt.Sprintf(`path has a backslash at byte %d`, i)
		case r == '%':
			return fmt.Sprintf("path has '%%' at byte %d (paths must arrive unescaped; double encoding is refused)", i)
		case unicode.IsControl(r):
			return fmt.Sprintf("path has control character %U at byte %d", r, i)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("path has invisible format character %U at byte %d", r, i)
		}
	}
	n := 0
	for seg := range strings.SplitSeq(p, "/") {
		n++
		if n > MaxPathSegments {
			return fmt.Sprintf("path has more than %d segments", MaxPathSegments)
		}
		switch seg {
		case "":
			return fmt.Sprintf(`path segment %d is empty ("//" or a trailing "/")`, n)
		case ".", "..":
			return fmt.Sprintf("path segment %d is %q (dot segments are not allowed)", n, seg)
		}
	}
	return ""
}
