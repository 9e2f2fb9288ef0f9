package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var ts = time.Date(2026, 11, 22, 9, 30, 0, 123_000_000, time.UTC)

func testMessage() Message {
	return Message{ID: ID{"seoul-1", 42}, Room: "lobby", User: "anon-3f2a9c", Text: "hello", TS: ts, Region: "seoul"}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		frame ServerFrame
		want  string
	}{
		{"message", testMessage(),
			`{"type":"message","id":"seoul-1.42","room":"lobby","user":"anon-3f2a9c","text":"hello","ts":"2026-11-22T09:30:00.123Z","region":"seoul"}`},
		{"message keeps HTML characters", Message{ID: ID{"a", 1}, Room: "r", User: "u", Text: "<3 & \"q\"\u2028", TS: ts, Region: "seoul"},
			`{"type":"message","id":"a.1","room":"r","user":"u","text":"<3 & \"q\"\u2028","ts":"2026-11-22T09:30:00.123Z","region":"seoul"}`},
		{"ack", Ack{Nonce: "c-17", ID: ID{"seoul-1", 42}, TS: ts},
			`{"type":"ack","nonce":"c-17","id":"seoul-1.42","ts":"2026-11-22T09:30:00.123Z"}`},
		{"ack without nonce", Ack{ID: ID{"seoul-1", 42}, TS: ts},
			`{"type":"ack","id":"seoul-1.42","ts":"2026-11-22T09:30:00.123Z"}`},
		{"presence", Presence{Room: "lobby", Total: 123, Regions: map[string]int{"tokyo": 83, "seoul": 40}},
			`{"type":"presence","room":"lobby","total":123,"regions":{"seoul":40,"tokyo":83}}`},
		{"presence of an empty room", Presence{Room: "lobby"},
			`{"type":"presence","room":"lobby","total":0,"regions":{}}`},
		{"synced", Synced{Replayed: 12, Complete: true},
			`{"type":"synced","replayed":12,"complete":true}`},
		{"synced incomplete with marks", Synced{Replayed: 0, Complete: false, Since: Since{"tokyo-2": 17, "seoul-1": 42}},
			`{"type":"synced","replayed":0,"complete":false,"since":"seoul-1.42,tokyo-2.17"}`},
		{"pong", Pong{Nonce: "p-1"}, `{"type":"pong","nonce":"p-1"}`},
		{"pong without nonce", Pong{}, `{"type":"pong"}`},
		{"error", Error{Code: CodeRateLimited, Message: "slow down", Nonce: "c-17"},
			`{"type":"error","code":"rate_limited","message":"slow down","nonce":"c-17"}`},
		{"error pointer", &Error{Code: CodeTooSlow, Message: "read faster"},
			`{"type":"error","code":"too_slow","message":"read faster"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Encode =\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatal("not valid JSON")
			}
			back, err := DecodeServerFrame(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.frame
			if e, ok := want.(*Error); ok {
				want = *e
			}
			if p, ok := want.(Presence); ok && p.Regions == nil {
				p.Regions = map[string]int{}
				want = p
			}
			if s, ok := want.(Synced); ok && s.Since == nil {
				// an omitted since decodes as nil
				want = s
			}
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("round trip = %#v, want %#v", back, want)
			}
		})
	}
}

func TestTimestampFormat(t *testing.T) {
	seoul := time.FixedZone("KST", 9*3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{ts, "2026-11-22T09:30:00.123Z"},
		{time.Date(2026, 11, 22, 18, 30, 0, 123_000_000, seoul), "2026-11-22T09:30:00.123Z"}, // converted to UTC
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000Z"},            // always 3 digits
		{time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), "2026-01-02T03:04:05.999Z"},  // truncated, not rounded
		{time.Date(2026, 1, 2, 3, 4, 5, 1_000_000, time.UTC), "2026-01-02T03:04:05.001Z"},
		{time.Time{}, "0001-01-01T00:00:00.000Z"},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "9999-12-31T23:59:59.000Z"},
	}
	for _, tt := range tests {
		b, err := timestamp(tt.in).MarshalJSON()
		if err != nil || string(b) != `"`+tt.want+`"` {
			t.Errorf("format %v = %s, %v; want %q", tt.in, b, err, tt.want)
		}
	}
	if _, err := (timestamp(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))).MarshalJSON(); err == nil {
		t.Error("year 10000 formatted")
	}
	m := testMessage()
	m.TS = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Encode(m); err == nil || !strings.Contains(err.Error(), "encode message frame") {
		t.Errorf("Encode with year 10000: %v", err)
	}
}

func TestTimestampParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`"2026-11-22T09:30:00.123Z"`, ts, true},
		{`"2026-11-22T18:30:00.123+09:00"`, ts, true},
		{`"2026-11-22T09:30:00.123456Z"`, ts.Add(456 * time.Microsecond), true},
		{`"2026-11-22T09:30:00Z"`, ts.Add(-123 * time.Millisecond), true},
		{`"2026-11-22 09:30:00Z"`, time.Time{}, false},
		{`"yesterday"`, time.Time{}, false},
		{`1764000000`, time.Time{}, false},
	}
	for _, tt := range tests {
		var got timestamp
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("parse %s: %v", tt.in, err)
			continue
		}
		if tt.ok && (!time.Time(got).Equal(tt.want) || time.Time(got).Location() != time.UTC) {
			t.Errorf("parse %s = %v, want %v in UTC", tt.in, time.Time(got), tt.want)
		}
	}
}

func TestMessageJSONRoundTrip(t *testing.T) {
	m := testMessage()
	m.Text = "multi\nline\ttext with \"quotes\", \\, <html> & 😀"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"type"`) {
		t.Errorf("a Message alone carries a type: %s", b)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip = %#v, want %#v", back, m)
	}
	if err := json.Unmarshal([]byte(`{"id":"seoul-1.042"}`), &back); err == nil {
		t.Fatal("accepted a malformed id")
	}
}

func TestMessageValidate(t *testing.T) {
	if err := testMessage().Validate(0); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	tests := []struct {
		name   string
		change func(m *Message)
		want   string
	}{
		{"zero id", func(m *Message) { m.ID = ID{} }, "origin is empty"},
		{"zero seq", func(m *Message) { m.ID.Seq = 0 }, "positive"},
		{"bad room", func(m *Message) { m.Room = "Lobby" }, "room name"},
		{"no user", func(m *Message) { m.User = "" }, "user must be"},
		{"long user", func(m *Message) { m.User = strings.Repeat("u", 65) }, "user must be"},
		{"control in user", func(m *Message) { m.User = "a\nb" }, "control character"},
		{"bad text", func(m *Message) { m.Text = "a\x00" }, "bad_text"},
		{"long text", func(m *Message) { m.Text = strings.Repeat("t", 501) }, "text_too_long"},
		{"no ts", func(m *Message) { m.TS = time.Time{} }, "timestamp is missing"},
		{"no region", func(m *Message) { m.Region = "" }, "region"},
		{"several", func(m *Message) { m.Room, m.User = "", "" }, "room name is empty\nuser must be"},
	}
	for _, tt := range tests {
		m := testMessage()
		tt.change(&m)
		if err := m.Validate(0); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestDecodeServerFrameErrors(t *testing.T) {
	tests := []struct {
		in      string
		unknown bool
	}{
		{`{"type":"video"}`, true},
		{`{}`, true},
		{`[]`, false},
		{`{"type":"message","id":"bad"}`, false},
		{`{"type":"message","ts":"soon"}`, false},
		{`{"type":"synced","since":"a.0"}`, false},
		{`{"type":"presence","total":"many"}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		f, err := DecodeServerFrame([]byte(tt.in))
		if err == nil {
			t.Errorf("DecodeServerFrame(%s) = %#v, want an error", tt.in, f)
			continue
		}
		if errors.Is(err, ErrUnknownFrame) != tt.unknown {
			t.Errorf("DecodeServerFrame(%s): %v; unknown = %v, want %v", tt.in, err, !tt.unknown, tt.unknown)
		}
	}
	// Unknown fields are ignored: servers may add them.
	f, err := DecodeServerFrame([]byte(`{"type":"pong","nonce":"p","new":{"x":1}}`))
	if err != nil || f != (Pong{Nonce: "p"}) {
		t.Errorf("pong with an extra field = %#v, %v", f, err)
	}
}

func TestHistory(t *testing.T) {
	b, err := json.Marshal(History{Room: "lobby"})
	if err != nil || string(b) != `{"room":"lobby","messages":[]}` {
		t.Fatalf("empty history = %s, %v", b, err)
	}
	h := History{Room: "lobby", Messages: []Message{testMessage()}}
	b, err = json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"room":"lobby","messages":[{"id":"seoul-1.42","room":"lobby","user":"anon-3f2a9c","text":"hello","ts":"2026-11-22T09:30:00.123Z","region":"seoul"}]}`
	if string(b) != want {
		t.Fatalf("history =\n%s\nwant\n%s", b, want)
	}
	var back History
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, h) {
		t.Fatalf("round trip = %#v, %v", back, err)
	}
}

func TestParseHistoryLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", DefaultHistoryLimit, true},
		{"1", 1, true},
		{"1000", 1000, true},
		{"0", 0, false},
		{"1001", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"5.0", 0, false},
		{"ten", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseHistoryLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseHistoryLimit(%q) = %d, %v", tt.in, got, err)
		}
	}
}
