//go:build unix

package benchkit

import "testing"

func TestReadClientUsage(t *testing.T) {
	if u := ReadClientUsage(); u.MaxRSSMiB <= 0 || u.CPUUserSecs < 0 || u.CPUSysSecs < 0 {
		t.Errorf("usage %+v", u)
	}
}
