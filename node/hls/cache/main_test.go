package cache

import (
	"testing"

	"go.uber.org/goleak"
)

// Every fill goroutine must have returned by the end of the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
