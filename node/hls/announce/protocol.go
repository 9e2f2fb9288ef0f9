// Package announce carries live-playlist announcements between nodes: the
// node that accepts a streamer's playlist update sends it straight to every
// member, each on a QUIC stream of kind "announce" (one hop, the direct
// path); every node puts it into its cache, so players everywhere see the
// new segments within the network's one-way latency instead of waiting for
// their cached copy to expire. This file is the message; send.go and
// receive.go the two ends. docs/mesh-protocol.md has the layout.
//
// Why not a NATS subject over the leaf tree (core NATS does cross it; chat
// presence uses it): the tree path can be longer than the direct one (Seoul
// to Frankfurt via a hub), and core NATS drops messages while the tree
// re-forms after a node dies, exactly when edges most need the update. A
// direct stream per member has neither problem; the cost is one stream per
// member per playlist update, a few hundred bytes each.
package announce

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/relaymesh/relaymesh/hlskey"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// Version is the message layout this node writes and reads. A message
// without a version is version 1: nodes before the field sent exactly
// that layout. A receiver refuses any other version whole (ErrVersion),
// since it cannot know what a newer layout means; a field added within a
// version is ignored by older receivers.
const Version = 1

// MaxBytes bounds a whole message, checked before it is decoded; real
// playlists are a few KB.
const MaxBytes = 256 << 10

// Timeout bounds sending one announcement to one peer, and reading one.
const Timeout = 5 * time.Second

// ErrVersion is wrapped by Decode's error for a message of another version.
var ErrVersion = errors.New("unknown announcement version")

// message is the wire form, JSON.
type message struct {
	Version int    `json:"v"` // absent (or 0): 1
	Key     string `json:"key"`
	Body    []byte `json:"body"`   // the playlist itself (base64 in JSON)
	Stored  int64  `json:"stored"` // unix nanoseconds at the ingest node
}

// Playlist is an announced playlist, decoded and checked.
type Playlist struct {
	Key    string // a valid playlist key
	Stream string // Key's stream
	Body   []byte
	// Stored is when the ingest node accepted it: the tie-break of
	// hls.PlaylistSupersedes.
	Stored time.Time
	Parsed playlist.Playlist // Body, parsed
}

// Encode returns the message announcing body as the playlist under key,
// or an error if it would be over MaxBytes.
func Encode(key string, body []byte, stored time.Time) ([]byte, error) {
	b, err := json.Marshal(message{Version: Version, Key: key, Body: body, Stored: stored.UnixNano()})
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("announce: announcement of %s is %d bytes, over %d", key, len(b), MaxBytes)
	}
	return b, nil
}

// Decode decodes and checks a message from a peer: at most MaxBytes, this
// Version, a valid playlist key and a body that is a playlist.
func Decode(data []byte) (Playlist, error) {
	if len(data) > MaxBytes {
		return Playlist{}, fmt.Errorf("announcement of %d bytes is over %d", len(data), MaxBytes)
	}
	// The version first, alone: a newer layout may not decode as this one,
	// and must be refused as a version, not as garbage.
	var v struct {
		Version int `json:"v"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Playlist{}, fmt.Errorf("announcement: %w", err)
	}
	if v.Version != 0 && v.Version != Version {
		return Playlist{}, fmt.Errorf("%w %d (this node reads %d)", ErrVersion, v.Version, Version)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return Playlist{}, fmt.Errorf("announcement: %w", err)
	}
	if err := hlskey.Check(m.Key); err != nil {
		return Playlist{}, fmt.Errorf("announcement: %w", err)
	}
	if !hlskey.IsPlaylist(m.Key) {
		return Playlist{}, fmt.Errorf("announcement: %q is not a playlist key", m.Key)
	}
	pl, err := playlist.Parse(m.Body)
	if err != nil {
		return Playlist{}, fmt.Errorf("announcement of %s: %w", m.Key, err)
	}
	return Playlist{Key: m.Key, Stream: hlskey.Stream(m.Key), Body: m.Body,
		Stored: time.Unix(0, m.Stored).UTC(), Parsed: pl}, nil
}
