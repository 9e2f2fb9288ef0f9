package wire

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// roomPattern is the documented rule; ValidRoom implements it without a
// regexp, and the tests hold the two together.
var roomPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func TestValidRoom(t *testing.T) {
	tests := []struct {
		room string
		ok   bool
	}{
		{"lobby", true},
		{"a", true},
		{"0", true},
		{"stream_42-chat", true},
		{"a-", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("r", 65), false},
		{"", false},
		{"-lobby", false},
		{"_lobby", false},
		{"Lobby", false},
		{"lob by", false},
		{"lobby.1", false}, // a dot would split a NATS subject
		{"lobby*", false},
		{"lobby>", false},
		{"../etc", false},
		{"lob/by", false},
		{"로비", false},
		{"lobby\x00", false},
	}
	for _, tt := range tests {
		err := ValidRoom(tt.room)
		if (err == nil) != tt.ok {
			t.Errorf("ValidRoom(%q) = %v, want ok=%v", tt.room, err, tt.ok)
		}
		if (err == nil) != roomPattern.MatchString(tt.room) {
			t.Errorf("ValidRoom(%q) disagrees with the pattern", tt.room)
		}
	}
}

func FuzzValidRoom(f *testing.F) {
	for _, s := range []string{"lobby", "-a", "a-", "A", strings.Repeat("r", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, room string) {
		if (ValidRoom(room) == nil) != roomPattern.MatchString(room) {
			t.Fatalf("ValidRoom(%q) = %v disagrees with %s", room, ValidRoom(room), roomPattern)
		}
	})
}

func TestParseJoin(t *testing.T) {
	tests := []struct {
		query string
		want  Join
		code  Code
	}{
		{query: "room=lobby", want: Join{Room: "lobby", Since: Since{}}},
		{query: "room=lobby&since=", want: Join{Room: "lobby", Resume: true, Since: Since{}}},
		{query: "room=lobby&since=seoul-1.42,tokyo-2.17", want: Join{Room: "lobby", Resume: true, Since: Since{"seoul-1": 42, "tokyo-2": 17}}},
		{query: "room=lobby&since=seoul-1.42%2Ctokyo-2.17", want: Join{Room: "lobby", Resume: true, Since: Since{"seoul-1": 42, "tokyo-2": 17}}},
		{query: "", code: CodeBadRoom},
		{query: "room=", code: CodeBadRoom},
		{query: "room=Lobby", code: CodeBadRoom},
		{query: "room=a&room=b", code: CodeBadRoom},
		{query: "room=lobby&since=x", code: CodeBadSince},
		{query: "room=lobby&since=a.1&since=b.1", code: CodeBadSince},
		{query: "room=lobby&since=a.1,a.2", code: CodeBadSince},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		got, e := ParseJoin(q)
		if tt.code != "" {
			if e == nil || e.Code != tt.code || !e.Code.Closes() {
				t.Errorf("ParseJoin(%q) = %+v, %v; want %s", tt.query, got, e, tt.code)
			}
			continue
		}
		if e != nil || got.Room != tt.want.Room || got.Resume != tt.want.Resume || !sinceEqual(got.Since, tt.want.Since) || got.Since == nil {
			t.Errorf("ParseJoin(%q) = %+v, %v; want %+v", tt.query, got, e, tt.want)
		}
	}
}
