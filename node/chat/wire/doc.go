// Package wire is the fan chat protocol: the JSON text frames a fan and an
// edge exchange over the WebSocket at GET /v1/chat/ws?room=ROOM[&since=IDS],
// the message ids, the per-origin high-water marks ("since") a reconnecting
// fan hands to any edge, and the limits every frame is checked against.
//
// It is pure code: no I/O, no goroutines, no global state. The server, the
// store and the benchmark client build on it. docs/chat-protocol.md is the
// user-facing description; this package is its executable form, and the two
// change together.
//
// Client → server frames (decoded by DecodeClientFrame, strictly):
//
//	{"type":"publish","text":"hello","nonce":"c-17"}
//	{"type":"ping","nonce":"p-1"}
//
// Server → client frames (written by Encode, read by DecodeServerFrame):
//
//	{"type":"message","id":"seoul-1.42","room":"lobby","user":"anon-3f2a9c","text":"hello","ts":"2026-11-22T09:30:00.123Z","region":"seoul"}
//	{"type":"ack","nonce":"c-17","id":"seoul-1.42","ts":"2026-11-22T09:30:00.123Z"}
//	{"type":"presence","room":"lobby","total":123,"regions":{"seoul":40,"tokyo":83}}
//	{"type":"synced","replayed":12,"complete":true,"since":"seoul-1.42,tokyo-2.17"}
//	{"type":"pong","nonce":"p-1"}
//	{"type":"error","code":"rate_limited","message":"...","nonce":"c-17"}
package wire
