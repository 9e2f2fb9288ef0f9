package wan

import (
	"net"
	"testing"
)

func TestTableNormalisesAddresses(t *testing.T) {
	var tb Table
	if err := tb.Set("127.0.0.1:7947", "seoul"); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set("[::1]:7947", "tokyo"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr, want string
		ok         bool
	}{
		{"127.0.0.1:7947", "seoul", true},
		{"[::ffff:127.0.0.1]:7947", "seoul", true},
		{"[::1]:7947", "tokyo", true},
		{"[0:0:0:0:0:0:0:1]:7947", "tokyo", true},
		{"127.0.0.1:7948", "", false},
		{"not-an-address", "", false},
	} {
		got, ok := tb.Region(tc.addr)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Region(%q) = %q, %v; want %q, %v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}

	// The hot path sees *net.UDPAddr values, including mapped ones.
	mapped := &net.UDPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 7947}
	key, ok := addrKey(mapped)
	if !ok {
		t.Fatalf("addrKey(%v) failed", mapped)
	}
	if r, ok := tb.lookup(key); !ok || r != "seoul" {
		t.Errorf("lookup(%v) = %q, %v; want seoul", mapped, r, ok)
	}

	tb.Delete("[::ffff:127.0.0.1]:7947")
	if _, ok := tb.Region("127.0.0.1:7947"); ok {
		t.Error("Delete via mapped form did not remove the entry")
	}
	if tb.Len() != 1 {
		t.Errorf("Len = %d, want 1", tb.Len())
	}
}

func TestTableRejectsBadInput(t *testing.T) {
	var tb Table
	for _, addr := range []string{"", "localhost:80", "127.0.0.1", "1.2.3.4:99999"} {
		if err := tb.Set(addr, "seoul"); err == nil {
			t.Errorf("Set(%q) succeeded, want error", addr)
		}
	}
	if err := tb.Set("127.0.0.1:1", ""); err == nil {
		t.Error("Set with empty region succeeded, want error")
	}
	if tb.Len() != 0 {
		t.Errorf("bad input changed the table: Len = %d", tb.Len())
	}
	tb.Delete("garbage") // must not panic
}
