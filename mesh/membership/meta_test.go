package membership

import (
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func validMeta() Meta {
	return Meta{Name: "seoul-1", Region: "seoul", Version: "v1", HTTP: "10.0.0.1:8080", Mesh: "10.0.0.1:7946", Leaf: "10.0.0.1:7946"}
}

func TestMetaRoundTrip(t *testing.T) {
	m := validMeta()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Fatalf("round trip: got %+v, want %+v", got, m)
	}
}

func TestDecodeMetaRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"empty", ``, "empty"},
		{"not json", `{"n":`, "node metadata"},
		{"wrong type", `{"n":5}`, "node metadata"},
		{"unknown region", `{"n":"a","r":"mars","h":"h:1","q":"h:2","l":"h:2"}`, `unknown region "mars"`},
		{"missing name", `{"r":"seoul","h":"h:1","q":"h:2","l":"h:2"}`, "missing name"},
		{"bad port", `{"n":"a","r":"seoul","h":"h:0","q":"h:2","l":"h:2"}`, "http address"},
		{"no host", `{"n":"a","r":"seoul","h":":80","q":"h:2","l":"h:2"}`, "missing host"},
		{"no port", `{"n":"a","r":"seoul","h":"h:1","q":"h","l":"h:2"}`, "mesh address"},
		{"oversized", `{"n":"` + strings.Repeat("a", memberlist.MetaMaxSize) + `"}`, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMeta([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("DecodeMeta(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestDecodeMetaIgnoresUnknownFields(t *testing.T) {
	// Newer nodes may add fields; older ones must still understand them.
	_, err := DecodeMeta([]byte(`{"n":"a","r":"tokyo","v":"x","h":"h:1","q":"h:2","l":"h:2","future":true}`))
	if err != nil {
		t.Fatal(err)
	}
}

func TestEncodeMetaRespectsGossipLimit(t *testing.T) {
	m := validMeta()
	m.Version = strings.Repeat("v", memberlist.MetaMaxSize)
	if _, err := m.Encode(); err == nil {
		t.Fatal("oversized metadata encoded without error")
	}
}

func FuzzDecodeMeta(f *testing.F) {
	b, _ := validMeta().Encode()
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"n":"x","r":"seoul","h":"[::1]:1","q":"[::1]:2","l":"[::1]:2"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeMeta(in)
		if err != nil {
			return
		}
		// Anything accepted must survive a round trip and validate.
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted metadata does not validate: %v", err)
		}
		if _, err := m.Encode(); err != nil {
			t.Fatalf("accepted metadata does not encode: %v", err)
		}
	})
}
