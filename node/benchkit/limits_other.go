//go:build !unix

package benchkit

// RaiseFileLimit does nothing where there are no rlimits.
func RaiseFileLimit(int) (uint64, error) { return 0, nil }
