package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeClientFrame: no input panics; an accepted frame satisfies every
// rule, re-encodes to a frame that decodes to the same value, and agrees with
// encoding/json; a rejection is a known code with a short message.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"publish","text":"hello","nonce":"c-17"}`,
		`{"type":"ping","nonce":"p-1"}`,
		`{"type":"publish","text":"a\u0000b"}`,
		`{"type":"publish","text":"\ud83d\ude00 \ud83d"}`,
		`{"type":"ping","type":"publish"}`,
		`{"typ\u0065":"ping","x":[{"y":"}"}]}`,
		`{"type":"publish","text":42}`,
		"{\"type\":\"publish\",\"text\":\"\xff\"}",
		`null`, `[]`, `"x"`, `{}`, ``,
		`{"type":"publish","text":"` + strings.Repeat("a", 501) + `"}`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxFrameBytes: 4096, MaxTextBytes: 500}
	codes := map[Code]bool{}
	for _, c := range Codes() {
		codes[c] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, e := DecodeClientFrame(data, lim)
		if e != nil {
			if !codes[e.Code] || e.Message == "" || len(e.Message) > 200 {
				t.Fatalf("bad error %+v", e)
			}
			if e.Nonce != "" {
				raw, _ := json.Marshal(e.Nonce)
				if _, ne := decodeNonce(raw); ne != nil {
					t.Fatalf("error carries an invalid nonce %q: %v", e.Nonce, ne)
				}
			}
			return
		}
		if len(data) > lim.MaxFrameBytes || !json.Valid(data) || !utf8.Valid(data) {
			t.Fatalf("accepted a frame that is too big, not JSON or not UTF-8: %q", data)
		}
		if len(got.Nonce) > MaxNonceBytes {
			t.Fatalf("accepted nonce %q", got.Nonce)
		}
		switch got.Type {
		case TypePing:
			if got.Text != "" {
				t.Fatalf("ping with text %q", got.Text)
			}
		case TypePublish:
			if CheckText(got.Text, lim.MaxTextBytes) != nil {
				t.Fatalf("accepted bad text %q", got.Text)
			}
		default:
			t.Fatalf("accepted type %q", got.Type)
		}
		// encoding/json agrees on the fields (it is lenient, not different).
		var std struct{ Type, Text, Nonce *string }
		if err := json.Unmarshal(data, &std); err == nil && std.Type != nil && *std.Type != got.Type {
			t.Fatalf("encoding/json reads type %q, we read %q", *std.Type, got.Type)
		}
		// Re-encode and decode again: the same frame.
		re := map[string]string{"type": got.Type}
		if got.Type == TypePublish {
			re["text"] = got.Text
		}
		if got.Nonce != "" {
			re["nonce"] = got.Nonce
		}
		b, err := json.Marshal(re)
		if err != nil {
			t.Fatal(err)
		}
		again, e := DecodeClientFrame(b, Limits{MaxFrameBytes: 1 << 20, MaxTextBytes: lim.MaxTextBytes})
		if e != nil || again != got {
			t.Fatalf("re-encoded %s decodes to %+v, %v; want %+v", b, again, e, got)
		}
	})
}

// FuzzUnquote holds unquote to encoding/json: wherever unquote accepts,
// encoding/json reads the same string; wherever encoding/json reads a string
// without having to repair it, unquote accepts.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"abc"`, `"\u00e9\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `"\n\t\\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var std string
		stdErr := json.Unmarshal(data, &std)
		data = bytes.Trim(data, " \t\r\n") // objectMembers hands over values without white space
		got, err := unquote(data)
		if stdErr != nil || !isString(data) {
			return // unquote is only called on valid JSON strings
		}
		if err == nil && got != std {
			t.Fatalf("unquote(%q) = %q, encoding/json %q", data, got, std)
		}
		if err != nil && utf8.Valid(data) && !strings.Contains(strings.ToLower(string(data)), `\ud`) && !strings.Contains(std, "\uFFFD") {
			t.Fatalf("unquote(%q) = %v, encoding/json read %q cleanly", data, err, std)
		}
		if err == nil && !utf8.ValidString(got) {
			t.Fatalf("unquote(%q) returned invalid UTF-8", data)
		}
	})
}

// FuzzParseID: no panics; an accepted id re-renders to the input (one
// spelling per id) and re-parses equal.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"seoul-1.42", "a.1", "a.0", "a.01", "a.18446744073709551616", "a.b.1", ".1", "-a.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("ParseID(%q).String() = %q", s, id.String())
		}
		if err := id.Valid(); err != nil {
			t.Fatalf("ParseID(%q) is not Valid: %v", s, err)
		}
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("re-parse of %q = %+v, %v", s, again, err)
		}
	})
}

// FuzzParseSince: no panics; an accepted list respects the limits and its
// canonical text re-parses equal.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "seoul-1.42", "tokyo-2.17,seoul-1.42", "a.1,a.2", "a.1,", ",", "a.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		since, err := ParseSince(s)
		if err != nil {
			return
		}
		if since == nil || len(since) > MaxSinceEntries {
			t.Fatalf("ParseSince(%q) = %#v", s, since)
		}
		text := since.String()
		if len(text) != len(s) {
			t.Fatalf("ParseSince(%q).String() = %q: not a permutation", s, text)
		}
		again, err := ParseSince(text)
		if err != nil || !sinceEqual(again, since) {
			t.Fatalf("re-parse of %q = %v, %v", text, again, err)
		}
		for o, seq := range since {
			if !since.Seen(ID{o, seq}) || since.Seen(ID{o, seq + 1}) && seq != ^uint64(0) {
				t.Fatalf("Seen disagrees with the marks at %s.%d", o, seq)
			}
		}
	})
}

// FuzzDecodeMessageFast: wherever the fast message decoder takes a frame,
// it gives what encoding/json gives.
func FuzzDecodeMessageFast(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","id":"seoul-1.42","room":"lobby","user":"anon-1","text":"hi \u00e9 \"q\"","ts":"2026-11-22T09:30:00.123Z","region":"seoul"}`,
		`{"type":"message","id":"a.1","room":"r","user":"u","text":"","ts":"2026-11-22T09:30:00Z","region":""}`,
		`{"type":"message","id":"a.1","ID":"b.2"}`,
		`{"type":"message","id":"a.1","id":"b.2"}`,
		`{"type":"message","text":"\ud800"}`,
		`{"type":"ack","nonce":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeMessageFast(data)
		if !ok {
			return
		}
		var slow Message
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("fast path took %q, encoding/json refuses it: %v", data, err)
		}
		if fast.ID != slow.ID || fast.Room != slow.Room || fast.User != slow.User || fast.Text != slow.Text ||
			!fast.TS.Equal(slow.TS) || fast.TS.Location() != slow.TS.Location() || fast.Region != slow.Region {
			t.Fatalf("%q: fast %+v, encoding/json %+v", data, fast, slow)
		}
	})
}
