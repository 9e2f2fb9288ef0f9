package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that an accepted config
// really is valid, and that a rejected one always gets a deterministic report
// of Problems. Seeds are example.yaml and every testdata file.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range append(seeds, "example.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("mesh: {seeds: &s [x, x]}\nnode: {name: *s}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted a config that Validate rejects:\n%v", err)
			}
			return
		}
		if c != nil {
			t.Fatal("Parse returned a config with an error")
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a non-empty Problems: %v", err)
		}
		for _, p := range ps {
			if p.Message == "" {
				t.Fatalf("problem at %q has no message", p.Path)
			}
		}
		if _, again := Parse(data); again == nil || again.Error() != err.Error() {
			t.Fatalf("Parse is not deterministic:\n%v\nthen:\n%v", err, again)
		}
	})
}
