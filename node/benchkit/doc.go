// Package benchkit is what the load tools (node/chat/bench,
// node/hls/bench) share: latency histograms, finding the mesh's nodes,
// the open file limit, the bench process's own usage, and progress lines.
// It knows nothing of chat or HLS, so that neither tool imports the other.
package benchkit
