package config

import (
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "1024": 1024, "1KiB": 1 << 10, "512MiB": 512 << 20, "10GiB": 10 << 30, "2TiB": 2 << 40,
		"64MB": 64e6, "1 GB": 1e9, "7B": 7,
	} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || b != want {
			t.Errorf("%q: got %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GiB", "ten", "5XB", "99999999999TiB", "GiB"} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %d", in, b)
		}
	}
	if s := ByteSize(256 << 20).String(); s != "256MiB" {
		t.Errorf("String: %s", s)
	}
}

func TestHLSSectionErrors(t *testing.T) {
	_, err := Parse([]byte("node: {region: seoul}\nhls: {cache_memory: lots, max_object: 0, playlist_max_age: 1h}\n"))
	for _, want := range []string{"hls.cache_memory: cannot parse \"lots\" as a size", "hls.playlist_max_age", "hls.max_object"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
