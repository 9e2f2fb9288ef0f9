// Package playlist reads the parts of an HLS playlist (RFC 8216) that the
// edge and the benchmark players need: the URIs it lists, the target
// duration, the media sequence and whether the stream has ended.
//
// It is deliberately not a full parser. The edge must cope with whatever
// a streamer's packager writes (tags from newer protocol versions, vendor
// tags), so unknown tags are skipped rather than rejected; a full parser
// (grafov/m3u8, gohlslib) would either reject them or cost a dependency for
// four fields. Only a playlist that does not start with #EXTM3U is an error.
package playlist

import (
	"bufio"
	"bytes"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// MaxBytes bounds what Parse reads: real playlists are a few KB, long
// event playlists a few hundred.
const MaxBytes = 4 << 20

// Playlist is what Parse found.
type Playlist struct {
	// Master is true for a multivariant playlist (it lists Variants, not
	// Segments).
	Master bool
	// Variants are the URIs of the media playlists of a master playlist
	// (EXT-X-STREAM-INF and the URI attributes of EXT-X-MEDIA), in order.
	Variants []string
	// Segments are the URIs of the media segments, in order; Maps the
	// URIs of the initialisation sections (EXT-X-MAP), in order, without
	// repeats.
	Segments []string
	Maps     []string
	// Durations are the segments' EXTINF durations, aligned with
	// Segments (0 where a segment has none).
	Durations []time.Duration
	// TargetDuration is EXT-X-TARGETDURATION (0 when absent);
	// MediaSequence EXT-X-MEDIA-SEQUENCE (the sequence number of
	// Segments[0]).
	TargetDuration time.Duration
	MediaSequence  uint64
	// Ended is true after EXT-X-ENDLIST: no more segments will be added.
	Ended bool
}

// Next is the media sequence number the next segment added to the
// playlist will have: how far a live playlist has got.
func (p Playlist) Next() uint64 { return p.MediaSequence + uint64(len(p.Segments)) }

// ErrNotPlaylist is returned for input that does not start with #EXTM3U,
// or is larger than MaxBytes.
var ErrNotPlaylist = errors.New("playlist: not an HLS playlist")

// Parse reads an HLS playlist. Lines it does not understand are skipped.
func Parse(body []byte) (Playlist, error) {
	var p Playlist
	if len(body) > MaxBytes {
		return p, ErrNotPlaylist
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a BOM some writers add
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), MaxBytes)
	first := true
	maps := map[string]bool{} // Maps as a set: a long playlist repeats EXT-X-MAP per segment
	streamInf := false        // the next URI line is a variant
	var extinf time.Duration  // the next segment's duration
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return Playlist{}, ErrNotPlaylist
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			tag, value, _ := strings.Cut(line, ":")
			switch tag {
			case "#EXT-X-STREAM-INF":
				p.Master, streamInf = true, true
			case "#EXT-X-MEDIA":
				p.Master = true
				if u := attr(value, "URI"); u != "" {
					p.Variants = append(p.Variants, u)
				}
			case "#EXT-X-MAP":
				if u := attr(value, "URI"); u != "" && !maps[u] {
					maps[u] = true
					p.Maps = append(p.Maps, u)
				}
			case "#EXT-X-TARGETDURATION":
				if s, err := strconv.ParseUint(value, 10, 32); err == nil {
					p.TargetDuration = time.Duration(s) * time.Second
				}
			case "#EXT-X-MEDIA-SEQUENCE":
				if s, err := strconv.ParseUint(value, 10, 64); err == nil {
					p.MediaSequence = s
				}
			case "#EXT-X-ENDLIST":
				p.Ended = true
			case "#EXTINF":
				secs, _, _ := strings.Cut(value, ",")
				if f, err := strconv.ParseFloat(secs, 64); err == nil && f >= 0 && f < 1e6 {
					extinf = time.Duration(f * float64(time.Second))
				}
			}
		case streamInf:
			p.Variants = append(p.Variants, line)
			streamInf = false
		default:
			p.Segments = append(p.Segments, line)
			p.Durations = append(p.Durations, extinf)
			extinf = 0
		}
	}
	if first {
		return Playlist{}, ErrNotPlaylist
	}
	if err := sc.Err(); err != nil {
		return Playlist{}, ErrNotPlaylist // a line over MaxBytes
	}
	return p, nil
}

// attr returns the value of the attribute name in an attribute list
// (NAME=VALUE,NAME="quoted, value"), unquoted, or "" when absent.
func attr(list, name string) string {
	for list != "" {
		var k string
		k, list, _ = strings.Cut(list, "=")
		k = strings.Trim(k, ", ") // tolerate empty items
		var v string
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				return "" // unterminated quote: malformed, take nothing
			}
			v, list = list[1:1+end], list[2+end:]
			_, list, _ = strings.Cut(list, ",")
		} else {
			v, list, _ = strings.Cut(list, ",")
		}
		if k == name {
			return v
		}
	}
	return ""
}

// Resolve returns the object key that uri names when it appears in the
// playlist stored under playlistKey ("stream/path/index.m3u8"): relative
// URIs resolve against the playlist's directory, absolute paths must be
// under /hls/. It reports false for URIs elsewhere (another host, another
// scheme, outside the playlist's stream) and for anything with a query or
// fragment, which name no object of ours.
func Resolve(playlistKey, uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "" || u.Host != "" || u.RawQuery != "" || u.Fragment != "" || u.Path == "" {
		return "", false
	}
	stream, _, ok := strings.Cut(playlistKey, "/")
	if !ok || stream == "" || stream == "." || stream == ".." || path.Clean(playlistKey) != playlistKey {
		return "", false
	}
	var key string
	if strings.HasPrefix(u.Path, "/") {
		rest, ok := strings.CutPrefix(u.Path, "/hls/")
		if !ok {
			return "", false
		}
		key = path.Clean(rest)
	} else {
		key = path.Join(path.Dir(playlistKey), u.Path)
	}
	if !strings.HasPrefix(key, stream+"/") {
		return "", false // climbed out of the stream
	}
	return key, true
}
