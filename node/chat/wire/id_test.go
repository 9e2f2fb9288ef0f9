package wire

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		in   string
		want ID
		err  string // substring; "" when valid
	}{
		{in: "seoul-1.42", want: ID{"seoul-1", 42}},
		{in: "a.1", want: ID{"a", 1}},
		{in: "0.1", want: ID{"0", 1}},
		{in: label63 + ".18446744073709551615", want: ID{label63, math.MaxUint64}},
		{in: "", err: "want <origin>.<seq>"},
		{in: "seoul-1", err: "want <origin>.<seq>"},
		{in: ".42", err: "origin is empty"},
		{in: "seoul-1.", err: "sequence is empty"},
		{in: "seoul-1.0", err: "positive"},
		{in: "seoul-1.042", err: "leading zeros"},
		{in: "seoul-1.+42", err: "decimal digits"},
		{in: "seoul-1.-1", err: "decimal digits"},
		{in: "seoul-1.4 2", err: "decimal digits"},
		{in: "seoul-1.0x2a", err: "decimal digits"},
		{in: "seoul-1.18446744073709551616", err: "64 bits"},
		{in: "seoul.1.42", err: "DNS label"}, // the origin is before the last dot
		{in: "Seoul-1.42", err: "DNS label"},
		{in: "-seoul.42", err: "DNS label"},
		{in: "seoul-.42", err: "DNS label"},
		{in: "seo_ul.42", err: "DNS label"},
		{in: "ソウル.42", err: "DNS label"},
		{in: strings.Repeat("a", 64) + ".1", err: "limit is 63"},
		{in: strings.Repeat("a", 1000) + ".1", err: "longer than 84 bytes"},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			} else if got.String() != tt.in || got.Valid() != nil {
				t.Errorf("ParseID(%q).String() = %q, Valid() = %v", tt.in, got.String(), got.Valid())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseID(%q) error = %v, want one containing %q", tt.in, err, tt.err)
		}
		if len(tt.in) > 100 && err != nil && len(err.Error()) > 150 {
			t.Errorf("error quotes the whole input: %d bytes", len(err.Error()))
		}
	}
}

func TestIDValid(t *testing.T) {
	if err := (ID{"seoul-1", 0}).Valid(); err == nil {
		t.Error("seq 0 is valid")
	}
	if err := (ID{"", 1}).Valid(); err == nil {
		t.Error("empty origin is valid")
	}
}

func TestIDJSON(t *testing.T) {
	b, err := json.Marshal(ID{"tokyo-2", 7})
	if err != nil || string(b) != `"tokyo-2.7"` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var id ID
	if err := json.Unmarshal([]byte(`"tokyo-2.7"`), &id); err != nil || id != (ID{"tokyo-2", 7}) {
		t.Fatalf("unmarshal = %+v, %v", id, err)
	}
	if err := json.Unmarshal([]byte(`"tokyo-2.07"`), &id); err == nil {
		t.Fatal("unmarshal accepted a leading zero")
	}
}

func TestParseSince(t *testing.T) {
	var many []string
	for i := range MaxSinceEntries {
		many = append(many, "n"+strconv.Itoa(i)+".1")
	}
	tests := []struct {
		in   string
		want Since
		err  string
	}{
		{in: "", want: Since{}},
		{in: "seoul-1.42", want: Since{"seoul-1": 42}},
		{in: "tokyo-2.17,seoul-1.42", want: Since{"seoul-1": 42, "tokyo-2": 17}},
		{in: strings.Join(many, ","), want: func() Since {
			s := Since{}
			for i := range MaxSinceEntries {
				s["n"+strconv.Itoa(i)] = 1
			}
			return s
		}()},
		{in: strings.Join(many, ",") + ",x.1", err: "65 ids; the limit is 64"},
		{in: strings.Repeat(",", 10000), err: "the limit is 64"},
		{in: "seoul-1.42,seoul-1.43", err: `origin "seoul-1" appears more than once`},
		{in: "seoul-1.42,", err: "want <origin>.<seq>"},
		{in: ",seoul-1.42", err: "want <origin>.<seq>"},
		{in: "seoul-1.42,,tokyo-2.1", err: "want <origin>.<seq>"},
		{in: "seoul-1.42, tokyo-2.1", err: "DNS label"},
		{in: "seoul-1.0", err: "positive"},
		{in: "seoul-1.42;tokyo-2.1", err: "DNS label"},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in)
		if tt.err == "" {
			if err != nil || !sinceEqual(got, tt.want) || got == nil {
				t.Errorf("ParseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseSince(%q) error = %v, want one containing %q", clip(tt.in), err, tt.err)
		}
	}
}

func TestSinceString(t *testing.T) {
	s := Since{"virginia-1": 3, "frankfurt-1": 10, "seoul-1": 42, "tokyo-2": 17}
	want := "frankfurt-1.10,seoul-1.42,tokyo-2.17,virginia-1.3"
	for range 10 { // map order varies; the text must not
		if got := s.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
	if got := Since(nil).String(); got != "" {
		t.Errorf("nil String() = %q", got)
	}
	back, err := ParseSince(want)
	if err != nil || !sinceEqual(back, s) {
		t.Errorf("round trip = %v, %v", back, err)
	}
}

func TestSinceSeenAdvance(t *testing.T) {
	s := Since{}
	a41, a42, b1 := ID{"a", 41}, ID{"a", 42}, ID{"b", 1}
	if s.Seen(a41) || s.Seen(b1) {
		t.Fatal("empty Since has seen something")
	}
	if !s.Advance(a42) {
		t.Fatal("Advance(a.42) on empty = false")
	}
	if !s.Seen(a41) || !s.Seen(a42) || s.Seen(ID{"a", 43}) || s.Seen(b1) {
		t.Fatalf("after a.42: %v", s)
	}
	if s.Advance(a41) || s.Advance(a42) {
		t.Fatal("Advance moved backwards or repeated")
	}
	if s["a"] != 42 {
		t.Fatalf("mark lowered: %v", s)
	}
	if !s.Advance(b1) || s.String() != "a.42,b.1" {
		t.Fatalf("after b.1: %v", s)
	}
	if Since(nil).Seen(a41) {
		t.Fatal("nil Since has seen something")
	}
}

func TestSinceMergeClone(t *testing.T) {
	s := Since{"a": 5, "b": 9}
	c := s.Clone()
	s.Merge(Since{"a": 7, "b": 3, "c": 1})
	if !sinceEqual(s, Since{"a": 7, "b": 9, "c": 1}) {
		t.Fatalf("Merge = %v", s)
	}
	if !sinceEqual(c, Since{"a": 5, "b": 9}) {
		t.Fatalf("Clone shares with the original: %v", c)
	}
	if n := Since(nil).Clone(); n == nil || len(n) != 0 {
		t.Fatalf("nil Clone = %#v", n)
	}
}

func TestSinceJSON(t *testing.T) {
	type wrap struct {
		Since Since `json:"since,omitempty"`
	}
	b, err := json.Marshal(wrap{Since{"b": 2, "a": 1}})
	if err != nil || string(b) != `{"since":"a.1,b.2"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	if b, _ := json.Marshal(wrap{}); string(b) != `{}` {
		t.Fatalf("empty Since not omitted: %s", b)
	}
	var w wrap
	if err := json.Unmarshal([]byte(`{"since":"a.1,b.2"}`), &w); err != nil || !sinceEqual(w.Since, Since{"a": 1, "b": 2}) {
		t.Fatalf("unmarshal = %v, %v", w.Since, err)
	}
	if err := json.Unmarshal([]byte(`{"since":"a.1,a.2"}`), &w); err == nil {
		t.Fatal("unmarshal accepted a duplicate origin")
	}
}

func sinceEqual(a, b Since) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
