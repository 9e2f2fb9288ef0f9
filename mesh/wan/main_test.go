package wan

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// Conn owns a scheduler goroutine that Close must stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
