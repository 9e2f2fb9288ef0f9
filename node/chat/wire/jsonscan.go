package wire

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// A small, strict reader for the top level of one JSON object.
//
// encoding/json is lenient where the protocol must not be: it matches keys
// case-insensitively ("TYPE" fills Type), keeps the last of duplicate keys
// (so a proxy reading the first and the edge reading the last disagree), and
// replaces invalid UTF-8 and unpaired surrogate escapes with U+FFFD instead of
// reporting them. So DecodeClientFrame checks syntax with json.Valid and then
// walks the object here, taking each member's raw bytes, and unquotes the
// strings it cares about with unquote, which rejects what encoding/json would
// silently repair.

// member is one key and its raw value in a JSON object.
type member struct {
	key   []byte // raw, with quotes
	value []byte // raw JSON value
}

// objectMembers returns the members of the JSON object in data, appending to
// buf. data must already be valid JSON (json.Valid); ok is false when its top
// level is not an object. Nested values are skipped, not parsed.
func objectMembers(data []byte, buf []member) (members []member, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return buf, false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) {
			return buf, false
		}
		switch data[i] {
		case '}':
			return buf, true
		case ',':
			i++
			continue
		case '"':
		default:
			return buf, false // cannot happen for valid JSON
		}
		kEnd := skipString(data, i)
		key := data[i:kEnd]
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return buf, false
		}
		vStart := skipSpace(data, i+1)
		vEnd := skipValue(data, vStart)
		buf = append(buf, member{key: key, value: data[vStart:vEnd]})
		i = vEnd
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at data[i].
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// skipValue returns the index just past the value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); {
			switch data[j] {
			case '"':
				j = skipString(data, j)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return len(data)
	default: // number, true, false, null
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// isNull reports whether a raw value is the JSON literal null.
func isNull(raw []byte) bool { return string(raw) == "null" }

// isString reports whether a raw value is a JSON string.
func isString(raw []byte) bool { return len(raw) >= 2 && raw[0] == '"' }

var (
	errInvalidUTF8   = errors.New("not valid UTF-8")
	errLoneSurrogate = errors.New("unpaired UTF-16 surrogate escape")
	errBadEscape     = errors.New("bad escape")
)

// unquote decodes a raw JSON string (quotes included) strictly: invalid
// UTF-8 and unpaired surrogate escapes are errors, not U+FFFD. For valid input
// it returns exactly what encoding/json would (FuzzUnquote checks that).
func unquote(raw []byte) (string, error) {
	if !isString(raw) || raw[len(raw)-1] != '"' {
		return "", errBadEscape
	}
	s := raw[1 : len(raw)-1]
	plain := true
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(s), nil // the common case: ASCII without escapes
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", errBadEscape
			}
			switch s[i+1] {
			case '"', '\\', '/':
				out = append(out, s[i+1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return "", errBadEscape
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s[i+2:])
					}
					if !ok {
						return "", errLoneSurrogate
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return "", errLoneSurrogate
					}
					i += 6
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return "", errBadEscape
			}
			i += 2
		case c == '"' || c < 0x20:
			return "", errBadEscape // not valid JSON; json.Valid rules it out
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", errInvalidUTF8
			}
			out = append(out, s[i:i+size]...)
			i += size
		}
	}
	return string(out), nil
}

// hex4 parses the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
