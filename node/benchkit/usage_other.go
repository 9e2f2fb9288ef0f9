//go:build !unix

package benchkit

// ReadClientUsage is zero where there is no getrusage.
func ReadClientUsage() ClientUsage { return ClientUsage{} }
