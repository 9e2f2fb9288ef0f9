package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestObjectMembers(t *testing.T) {
	tests := []struct {
		in   string
		want []string // key=value, raw
		ok   bool
	}{
		{`{}`, nil, true},
		{` { } `, nil, true},
		{`{"a":1}`, []string{`"a"=1`}, true},
		{`{"a" : "x,}" , "b":{"c":[1,"]"]},"d":null,"e":-1.5e3}`, []string{`"a"="x,}"`, `"b"={"c":[1,"]"]}`, `"d"=null`, `"e"=-1.5e3`}, true},
		{`{"a\"b":"\\"}`, []string{`"a\"b"="\\"`}, true},
		{`[]`, nil, false},
		{`"x"`, nil, false},
		{`null`, nil, false},
	}
	for _, tt := range tests {
		ms, ok := objectMembers([]byte(tt.in), nil)
		if ok != tt.ok {
			t.Errorf("objectMembers(%s) ok = %v", tt.in, ok)
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, string(m.key)+"="+string(m.value))
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("objectMembers(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{`""`, "", nil},
		{`"abc"`, "abc", nil},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t", nil},
		{`"\u0041\u00e9\u20ac"`, "Aé€", nil},
		{`"\uD83D\uDE00"`, "😀", nil},
		{`"é😀"`, "é😀", nil},
		{`"\ud83d"`, "", errLoneSurrogate},
		{`"\ude00"`, "", errLoneSurrogate},
		{`"\ud83dx"`, "", errLoneSurrogate},
		{`"\ud83d\u0041"`, "", errLoneSurrogate},
		{`"\ud83d\ud83d"`, "", errLoneSurrogate},
		{"\"\xff\"", "", errInvalidUTF8},
		{"\"a\xe2\x82\"", "", errInvalidUTF8},
		{`"\x"`, "", errBadEscape},
		{`"\u12"`, "", errBadEscape},
		{`"\u12g4"`, "", errBadEscape},
		{`x`, "", errBadEscape},
		{`"`, "", errBadEscape},
	}
	for _, tt := range tests {
		got, err := unquote([]byte(tt.in))
		if err != tt.err || got != tt.want {
			t.Errorf("unquote(%s) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		if tt.err == nil {
			var std string
			if json.Unmarshal([]byte(tt.in), &std) != nil || std != got {
				t.Errorf("unquote(%s) = %q, encoding/json says %q", tt.in, got, std)
			}
		}
	}
}
