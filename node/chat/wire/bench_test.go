package wire

import (
	"strings"
	"testing"
)

// Run: go test ./node/chat/wire -run '^$' -bench . -benchmem

func BenchmarkDecodeClientFrame(b *testing.B) {
	frames := []struct {
		name string
		data string
	}{
		{"publish", `{"type":"publish","text":"hello from seoul, how is the stream in frankfurt?","nonce":"c-17"}`},
		{"publish_unicode", `{"type":"publish","text":"안녕하세요! 方今のストリームは最高 😀 \"quoted\"\n","nonce":"c-17"}`},
		{"publish_max", `{"type":"publish","text":"` + strings.Repeat("a", 500) + `","nonce":"c-17"}`},
		{"ping", `{"type":"ping","nonce":"p-1"}`},
		{"bad_json", `{"type":"publish","text":"hello"`},
	}
	for _, fr := range frames {
		data := []byte(fr.data)
		b.Run(fr.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				DecodeClientFrame(data, Limits{})
			}
		})
	}
}

func BenchmarkEncodeMessage(b *testing.B) {
	m := testMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}
