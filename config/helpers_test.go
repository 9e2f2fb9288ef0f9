package config

import (
	"errors"
	"testing"
)

// validConfig is Defaults plus the fields that have no default: the smallest
// config that passes Validate. Table tests change one thing at a time in it.
func validConfig() Config {
	c := Defaults()
	c.Node.Name = "test-1"
	c.Node.Region = "seoul"
	c.Mesh.Advertise = "10.0.0.1:7946"
	c.Origin.Endpoint = "s3.example.com"
	c.Origin.Bucket = "relaymesh-test"
	return c
}

// problemsOf extracts the Problems from an error the way callers do, failing
// the test if the error is nil or not Problems.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return ps
}

// envMap turns a map into a getenv function.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
