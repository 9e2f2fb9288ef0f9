package benchkit

import "fmt"

// ClientUsage is what this (the load tool's) process used: it shares the
// machine with the mesh under test when both run on one host.
type ClientUsage struct {
	CPUUserSecs float64 `json:"cpu_user_s"`
	CPUSysSecs  float64 `json:"cpu_sys_s"`
	MaxRSSMiB   float64 `json:"max_rss_mib"`
}

// String is the usage as both reports print it.
func (u ClientUsage) String() string {
	return fmt.Sprintf("cpu %.1fs user + %.1fs sys, max rss %.0f MiB", u.CPUUserSecs, u.CPUSysSecs, u.MaxRSSMiB)
}

// Add sums two processes' usage: a load run spread over worker processes
// reports their total CPU and the sum of their peak memories.
func (u ClientUsage) Add(o ClientUsage) ClientUsage {
	return ClientUsage{u.CPUUserSecs + o.CPUUserSecs, u.CPUSysSecs + o.CPUSysSecs, u.MaxRSSMiB + o.MaxRSSMiB}
}
