package wire

import (
	"strings"
	"testing"
)

func TestDecodeClientFrame(t *testing.T) {
	lim := Limits{MaxFrameBytes: 4096, MaxTextBytes: 500}
	long := strings.Repeat("a", 500)
	tests := []struct {
		name  string
		in    string
		want  ClientFrame
		code  Code   // "" when the frame is accepted
		nonce string // nonce the error must carry
		msg   string // substring of the error message
	}{
		// accepted
		{name: "publish", in: `{"type":"publish","text":"hello","nonce":"c-17"}`,
			want: ClientFrame{Type: "publish", Text: "hello", Nonce: "c-17"}},
		{name: "publish without nonce", in: `{"type":"publish","text":"hi"}`,
			want: ClientFrame{Type: "publish", Text: "hi"}},
		{name: "ping", in: `{"type":"ping","nonce":"p-1"}`, want: ClientFrame{Type: "ping", Nonce: "p-1"}},
		{name: "ping without nonce", in: `{"type":"ping"}`, want: ClientFrame{Type: "ping"}},
		{name: "ping ignores text", in: `{"type":"ping","text":12}`, want: ClientFrame{Type: "ping"}},
		{name: "null nonce is none", in: `{"type":"ping","nonce":null}`, want: ClientFrame{Type: "ping"}},
		{name: "empty nonce is none", in: `{"type":"ping","nonce":""}`, want: ClientFrame{Type: "ping"}},
		{name: "white space around", in: " \n\t{ \"type\" : \"ping\" } \r\n", want: ClientFrame{Type: "ping"}},
		{name: "unknown fields ignored", in: `{"v":2,"type":"publish","extra":{"a":[1,{"b":"}"}]},"text":"x","z":null}`,
			want: ClientFrame{Type: "publish", Text: "x"}},
		{name: "escaped key", in: `{"typ\u0065":"ping"}`, want: ClientFrame{Type: "ping"}},
		{name: "escapes in text", in: `{"type":"publish","text":"a\nb\tc \"q\" \\ \/ \u00e9 \ud83d\ude00"}`,
			want: ClientFrame{Type: "publish", Text: "a\nb\tc \"q\" \\ / é 😀"}},
		{name: "UTF-8 text", in: `{"type":"publish","text":"안녕하세요 こんにちは"}`,
			want: ClientFrame{Type: "publish", Text: "안녕하세요 こんにちは"}},
		{name: "text of exactly the limit", in: `{"type":"publish","text":"` + long + `"}`,
			want: ClientFrame{Type: "publish", Text: long}},
		{name: "multibyte text of exactly the limit", in: `{"type":"publish","text":"` + strings.Repeat("é", 250) + `"}`,
			want: ClientFrame{Type: "publish", Text: strings.Repeat("é", 250)}},
		{name: "nonce of 64 bytes", in: `{"type":"ping","nonce":"` + strings.Repeat("n", 64) + `"}`,
			want: ClientFrame{Type: "ping", Nonce: strings.Repeat("n", 64)}},
		{name: "nonce with space and punctuation", in: `{"type":"ping","nonce":"a b~!{}"}`,
			want: ClientFrame{Type: "ping", Nonce: "a b~!{}"}},

		// bad_frame
		{name: "empty", in: ``, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "garbage", in: `hello`, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "truncated", in: `{"type":"ping"`, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "trailing data", in: `{"type":"ping"}{}`, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "trailing comma", in: `{"type":"ping",}`, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "single quotes", in: `{'type':'ping'}`, code: CodeBadFrame, msg: "not valid JSON"},
		{name: "raw control character in string", in: "{\"type\":\"publish\",\"text\":\"a\x00b\"}", code: CodeBadFrame, msg: "not valid JSON"},
		{name: "null", in: `null`, code: CodeBadFrame, msg: "JSON object"},
		{name: "array", in: `[{"type":"ping"}]`, code: CodeBadFrame, msg: "JSON object"},
		{name: "number", in: `42`, code: CodeBadFrame, msg: "JSON object"},
		{name: "string", in: `"ping"`, code: CodeBadFrame, msg: "JSON object"},
		{name: "true", in: `true`, code: CodeBadFrame, msg: "JSON object"},
		{name: "empty object", in: `{}`, code: CodeBadFrame, msg: `no "type"`},
		{name: "null type", in: `{"type":null,"nonce":"x"}`, code: CodeBadFrame, nonce: "x", msg: `no "type"`},
		{name: "type is a number", in: `{"type":1,"nonce":"x"}`, code: CodeBadFrame, nonce: "x", msg: `"type" must be a string`},
		{name: "type is an object", in: `{"type":{"type":"ping"}}`, code: CodeBadFrame, msg: `"type" must be a string`},
		{name: "type key in capitals", in: `{"TYPE":"ping"}`, code: CodeBadFrame, msg: `no "type"`},
		{name: "duplicate type", in: `{"type":"ping","type":"publish","nonce":"n"}`, code: CodeBadFrame, nonce: "n", msg: `"type" appears more than once`},
		{name: "duplicate type via escape", in: `{"type":"ping","t\u0079pe":"ping"}`, code: CodeBadFrame, msg: `"type" appears more than once`},
		{name: "duplicate text", in: `{"type":"publish","text":"a","text":"b"}`, code: CodeBadFrame, msg: `"text" appears more than once`},
		{name: "duplicate nonce", in: `{"type":"ping","nonce":"a","nonce":"b"}`, code: CodeBadFrame, msg: `"nonce" appears more than once`},
		{name: "text is a number", in: `{"type":"publish","text":42,"nonce":"c-1"}`, code: CodeBadFrame, nonce: "c-1", msg: `"text" must be a string`},
		{name: "text is an array", in: `{"type":"publish","text":["a"]}`, code: CodeBadFrame, msg: `"text" must be a string`},
		{name: "text is true", in: `{"type":"publish","text":true}`, code: CodeBadFrame, msg: `"text" must be a string`},
		{name: "invalid UTF-8 in an ignored field", in: "{\"type\":\"ping\",\"x\":\"\xff\",\"nonce\":\"n\"}", code: CodeBadFrame, nonce: "n", msg: "UTF-8"},
		{name: "invalid UTF-8 in a key", in: "{\"type\":\"ping\",\"\xc3\":1}", code: CodeBadFrame, msg: "UTF-8"},
		{name: "invalid UTF-8 in type", in: "{\"type\":\"pi\xffng\"}", code: CodeBadFrame, msg: "not valid UTF-8"},
		{name: "one byte over the frame limit", in: `{"type":"ping","pad":"` + strings.Repeat("x", 4096-23) + `"}`, code: CodeBadFrame, msg: "4097 bytes; the limit is 4096"},
		{name: "huge frame", in: strings.Repeat("[", 1<<20), code: CodeBadFrame, msg: "the limit is 4096"},
		{name: "deep nesting", in: `{"type":"ping","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, want: ClientFrame{Type: "ping"}},
		{name: "unbalanced nesting", in: `{"type":"ping","x":` + strings.Repeat("[", 2000) + `}`, code: CodeBadFrame, msg: "not valid JSON"},

		// unknown_type
		{name: "unknown type", in: `{"type":"subscribe","nonce":"s-1"}`, code: CodeUnknownType, nonce: "s-1", msg: `"subscribe"`},
		{name: "empty type", in: `{"type":""}`, code: CodeUnknownType, msg: `""`},
		{name: "type in capitals", in: `{"type":"PING"}`, code: CodeUnknownType},
		{name: "long unknown type is clipped", in: `{"type":"` + strings.Repeat("x", 1000) + `"}`, code: CodeUnknownType, msg: "…"},
		{name: "server frame type from a client", in: `{"type":"message","text":"x"}`, code: CodeUnknownType},

		// empty_text
		{name: "publish without text", in: `{"type":"publish","nonce":"c-2"}`, code: CodeEmptyText, nonce: "c-2"},
		{name: "publish with null text", in: `{"type":"publish","text":null}`, code: CodeEmptyText},
		{name: "publish with empty text", in: `{"type":"publish","text":"","nonce":"c-3"}`, code: CodeEmptyText, nonce: "c-3"},
		{name: "publish with white space only", in: `{"type":"publish","text":" \n\t "}`, code: CodeEmptyText},
		{name: "publish with unicode space only", in: `{"type":"publish","text":"\u3000\u00a0"}`, code: CodeEmptyText},

		// text_too_long
		{name: "text one byte over", in: `{"type":"publish","text":"` + long + `b","nonce":"c-4"}`, code: CodeTextTooLong, nonce: "c-4", msg: "501 bytes; the limit is 500"},
		{name: "multibyte text one byte over", in: `{"type":"publish","text":"` + strings.Repeat("é", 250) + `a"}`, code: CodeTextTooLong, msg: "501 bytes"},
		{name: "escapes count decoded", in: `{"type":"publish","text":"` + strings.Repeat(`\u00e9`, 251) + `"}`, code: CodeTextTooLong, msg: "502 bytes"},

		// bad_text
		{name: "invalid UTF-8 in text", in: "{\"type\":\"publish\",\"text\":\"a\xffb\",\"nonce\":\"c-5\"}", code: CodeBadText, nonce: "c-5", msg: "not valid UTF-8"},
		{name: "overlong UTF-8 in text", in: "{\"type\":\"publish\",\"text\":\"\xc0\xaf\"}", code: CodeBadText, msg: "not valid UTF-8"},
		{name: "UTF-8 encoded surrogate in text", in: "{\"type\":\"publish\",\"text\":\"\xed\xa0\x80\"}", code: CodeBadText, msg: "not valid UTF-8"},
		{name: "lone high surrogate escape", in: `{"type":"publish","text":"a\ud83d"}`, code: CodeBadText, msg: "surrogate"},
		{name: "lone low surrogate escape", in: `{"type":"publish","text":"\ude00b"}`, code: CodeBadText, msg: "surrogate"},
		{name: "reversed surrogates", in: `{"type":"publish","text":"\ude00\ud83d"}`, code: CodeBadText, msg: "surrogate"},
		{name: "high surrogate then letter escape", in: `{"type":"publish","text":"\ud83d\u0041"}`, code: CodeBadText, msg: "surrogate"},
		{name: "NUL escape", in: `{"type":"publish","text":"a\u0000b","nonce":"c-6"}`, code: CodeBadText, nonce: "c-6", msg: "U+0000 at byte 1"},
		{name: "carriage return", in: `{"type":"publish","text":"a\r\nb"}`, code: CodeBadText, msg: "U+000D"},
		{name: "escape character", in: `{"type":"publish","text":"\u001b[31mred"}`, code: CodeBadText, msg: "U+001B"},
		{name: "DEL", in: `{"type":"publish","text":"a\u007f"}`, code: CodeBadText, msg: "U+007F"},
		{name: "C1 control", in: "{\"type\":\"publish\",\"text\":\"a\u0085\"}", code: CodeBadText, msg: "U+0085"},

		// bad_nonce
		{name: "nonce too long", in: `{"type":"publish","text":"x","nonce":"` + strings.Repeat("n", 65) + `"}`, code: CodeBadNonce, msg: "65 bytes; the limit is 64"},
		{name: "nonce is a number", in: `{"type":"ping","nonce":17}`, code: CodeBadNonce, msg: "must be a string"},
		{name: "nonce is an object", in: `{"type":"ping","nonce":{}}`, code: CodeBadNonce, msg: "must be a string"},
		{name: "nonce with newline", in: `{"type":"ping","nonce":"a\nb"}`, code: CodeBadNonce, msg: "printable ASCII"},
		{name: "nonce not ASCII", in: `{"type":"ping","nonce":"é"}`, code: CodeBadNonce, msg: "printable ASCII"},
		{name: "nonce invalid UTF-8", in: "{\"type\":\"ping\",\"nonce\":\"\xff\"}", code: CodeBadNonce, msg: "UTF-8"},
		{name: "bad nonce wins over bad type", in: `{"type":"nope","nonce":1}`, code: CodeBadNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := DecodeClientFrame([]byte(tt.in), lim)
			if tt.code == "" {
				if e != nil {
					t.Fatalf("rejected: %v", e)
				}
				if got != tt.want {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if e == nil {
				t.Fatalf("accepted as %+v, want %s", got, tt.code)
			}
			if got != (ClientFrame{}) {
				t.Errorf("a rejected frame returned %+v", got)
			}
			if e.Code != tt.code || e.Nonce != tt.nonce {
				t.Errorf("error %s (nonce %q), want %s (nonce %q): %s", e.Code, e.Nonce, tt.code, tt.nonce, e.Message)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q lacks %q", e.Message, tt.msg)
			}
			if e.Message == "" || len(e.Message) > 200 {
				t.Errorf("message of %d bytes: %q", len(e.Message), e.Message)
			}
		})
	}
}

func TestDecodeClientFrameDefaultLimits(t *testing.T) {
	text := strings.Repeat("a", DefaultMaxTextBytes)
	if _, e := DecodeClientFrame([]byte(`{"type":"publish","text":"`+text+`"}`), Limits{}); e != nil {
		t.Fatalf("text of the default limit rejected: %v", e)
	}
	if _, e := DecodeClientFrame([]byte(`{"type":"publish","text":"`+text+`a"}`), Limits{}); e == nil || e.Code != CodeTextTooLong {
		t.Fatalf("text over the default limit: %v", e)
	}
	big := []byte(`{"type":"ping","x":"` + strings.Repeat("x", DefaultMaxFrameBytes) + `"}`)
	if _, e := DecodeClientFrame(big, Limits{}); e == nil || e.Code != CodeBadFrame {
		t.Fatalf("frame over the default limit: %v", e)
	}
}

// TestDefaultFrameFitsEscapedText: a publish of the longest default text,
// JSON-escaped the way JSON.stringify escapes (every '"' and '\' doubled),
// with the longest nonce, fits the default frame limit.
func TestDefaultFrameFitsEscapedText(t *testing.T) {
	text := strings.Repeat(`"`, DefaultMaxTextBytes)
	frame := `{"type":"publish","text":"` + strings.Repeat(`\"`, DefaultMaxTextBytes) + `","nonce":"` + strings.Repeat("n", MaxNonceBytes) + `"}`
	got, e := DecodeClientFrame([]byte(frame), Limits{})
	if e != nil || got.Text != text {
		t.Fatalf("worst-case escaped publish: %v", e)
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		text string
		max  int
		code Code
	}{
		{"hello", 5, ""},
		{"hello!", 5, CodeTextTooLong},
		{"line\nbreak\ttab", 0, ""},
		{"", 0, CodeEmptyText},
		{"\n", 0, CodeEmptyText},
		{"\xff", 0, CodeBadText},
		{"a\x00", 0, CodeBadText},
		{"a\u200b\u202e", 0, ""}, // format characters are not control characters
		{strings.Repeat("a", DefaultMaxTextBytes+1), 0, CodeTextTooLong},
	}
	for _, tt := range tests {
		e := CheckText(tt.text, tt.max)
		switch {
		case tt.code == "" && e != nil:
			t.Errorf("CheckText(%q, %d) = %v, want ok", tt.text, tt.max, e)
		case tt.code != "" && (e == nil || e.Code != tt.code):
			t.Errorf("CheckText(%q, %d) = %v, want %s", tt.text, tt.max, e, tt.code)
		case e != nil && e.Nonce != "":
			t.Errorf("CheckText set a nonce: %+v", e)
		}
	}
}

// TestDecodeClientFrameDoesNotRetain: the frame's buffer is reused by the
// WebSocket reader, so the result must not alias it.
func TestDecodeClientFrameDoesNotRetain(t *testing.T) {
	data := []byte(`{"type":"publish","text":"hello","nonce":"c-1"}`)
	f, e := DecodeClientFrame(data, Limits{})
	if e != nil {
		t.Fatal(e)
	}
	for i := range data {
		data[i] = 'X'
	}
	if f.Text != "hello" || f.Nonce != "c-1" || f.Type != "publish" {
		t.Fatalf("result changed with the buffer: %+v", f)
	}
}

func TestErrorCodes(t *testing.T) {
	seen := map[Code]bool{}
	for _, c := range Codes() {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if c.Closes() != (c == CodeTooSlow || c == CodeBadRoom || c == CodeBadSince) {
			t.Errorf("%s.Closes() = %v", c, c.Closes())
		}
	}
	if len(seen) != 13 {
		t.Errorf("%d codes, want 13", len(seen))
	}
	e := Errorf(CodeRateLimited, "c-1", "slow down: %d/s", 5)
	if e.Error() != "rate_limited: slow down: 5/s" || e.Nonce != "c-1" {
		t.Errorf("Errorf = %+v, Error() = %q", e, e.Error())
	}
}

func TestClip(t *testing.T) {
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
	s := strings.Repeat("a", 31) + "é" // é straddles byte 32
	if got := clip(s + "zzz"); got != strings.Repeat("a", 31)+"…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
}
