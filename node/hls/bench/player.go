package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
	"github.com/relaymesh/relaymesh/node/hls/playlist"
)

// liveEdge is how many of the newest segments a player starts with:
// hls.js's default liveSyncDurationCount.
const liveEdge = 3

// player is one viewer. Only its own goroutine (run) touches it until the
// run is over; its figures go to its shard and to the run's live totals.
type player struct {
	idx     int
	entry   *url.URL // the playlist it was told to load
	startAt time.Time
	r       *runner
	shard   *shard
	tr      *http.Transport
	client  *http.Client

	media    *url.URL // the media playlist, once known
	started  bool     // the first media playlist has been loaded
	ended    bool     // the playlist said EXT-X-ENDLIST and every segment is in
	next     uint64   // sequence number of the next segment to download
	newest   uint64   // newest sequence number listed so far
	target   time.Duration
	prevBody []byte
	listedAt map[uint64]time.Time // when each pending segment was first listed
	maps     map[string]bool      // initialisation sections already fetched

	received, missedSlid, missedFailed, late, stale int64

	playback playback
}

// playback models what a viewer would see: playback starts when the
// first segment is in, plays each segment for its duration, and stalls
// (rebuffers) whenever the next segment is not in when the playhead gets
// there, until it is. A segment the player never got is skipped.
type playback struct {
	playing   bool
	startup   time.Duration // player start to first segment in
	playStart time.Time
	bufferEnd time.Time // when the playhead reaches the end of what is in
	stalled   time.Duration
	stalls    int64
	stopped   time.Time // when the run stopped the player
}

// got notes a segment of duration d arriving at now.
func (pb *playback) got(now, startAt time.Time, d time.Duration) {
	switch {
	case !pb.playing:
		pb.playing, pb.playStart, pb.bufferEnd = true, now, now.Add(d)
		pb.startup = now.Sub(startAt)
	case now.After(pb.bufferEnd):
		pb.stalled += now.Sub(pb.bufferEnd)
		pb.stalls++
		pb.bufferEnd = now.Add(d)
	default:
		pb.bufferEnd = pb.bufferEnd.Add(d)
	}
}

// watched returns how long the viewer watched (playing or stalled) and
// how long of it was stalled, up to when the player stopped; a stream
// that ended is not a stall after its last segment.
func (pb *playback) watched(ended bool) (watch, stalled time.Duration) {
	if !pb.playing || pb.stopped.IsZero() {
		return 0, 0
	}
	end := pb.stopped
	stalled = pb.stalled
	switch {
	case ended && end.After(pb.bufferEnd):
		end = pb.bufferEnd
	case end.After(pb.bufferEnd):
		stalled += end.Sub(pb.bufferEnd) // waiting for a segment as the run ended
	}
	return end.Sub(pb.playStart), stalled
}

func newPlayer(r *runner, idx int, entry *url.URL, startAt time.Time) *player {
	// One transport per player: its own keep-alive connection, as a
	// browser tab or an ffplay process has.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // count the bytes the node sent
	}
	return &player{
		idx: idx, entry: entry, startAt: startAt, r: r,
		shard:    r.shards[idx%len(r.shards)],
		tr:       tr,
		client:   &http.Client{Transport: tr},
		target:   time.Second,
		listedAt: map[uint64]time.Time{},
		maps:     map[string]bool{},
	}
}

// run plays until ctx ends.
func (p *player) run(ctx context.Context) {
	defer p.tr.CloseIdleConnections()
	defer func() { p.playback.stopped = time.Now() }()
	if !benchkit.SleepUntil(ctx, p.startAt) {
		return
	}
	for !p.ended {
		loadStart := time.Now()
		wait := p.load(ctx)
		if !benchkit.SleepUntil(ctx, loadStart.Add(wait)) {
			return
		}
	}
}

// load loads the playlist once, downloads what it newly lists, and
// returns how long after the load's start to load it again.
func (p *player) load(ctx context.Context) time.Duration {
	u := p.entry
	if p.media != nil {
		u = p.media
	}
	body, o, cancelled := p.get(ctx, kindPlaylist, u, nil)
	if cancelled {
		return 0
	}
	listed := time.Now()
	var pl playlist.Playlist
	if o.errCode == "" {
		var err error
		if pl, err = playlist.Parse(body); err != nil {
			o.fail("not_playlist", err)
		} else if pl.Master && (p.media != nil || len(pl.Variants) == 0) {
			o.fail("bad_master", errors.New("a master playlist without variants, or where a media playlist was expected"))
		}
	}
	var variant *url.URL
	if o.errCode == "" && pl.Master {
		var err error
		if variant, err = u.Parse(pl.Variants[0]); err != nil {
			o.fail("bad_master", err)
		}
	}
	p.record(o, u)
	switch {
	case o.errCode != "":
		return p.target // retry at the pace of the stream
	case variant != nil:
		p.media = variant
		return 0 // load the variant now
	}
	p.media = u
	if pl.TargetDuration > 0 {
		p.target = pl.TargetDuration
	}
	changed := !bytes.Equal(body, p.prevBody)
	p.prevBody = body
	p.segments(ctx, u, pl, listed)
	if changed {
		return p.target
	}
	return p.target / 2 // RFC 8216 6.3.4: an unchanged playlist is retried sooner
}

// segments downloads, in order, every segment of pl the player has not
// had yet; those that slid out of the window before it got to them are
// missed.
func (p *player) segments(ctx context.Context, base *url.URL, pl playlist.Playlist, listed time.Time) {
	if len(pl.Segments) == 0 {
		return
	}
	first := pl.MediaSequence
	last := first + uint64(len(pl.Segments)) - 1
	if !p.started {
		p.started = true
		p.r.live.started.Add(1)
		p.next = first
		if !pl.Ended && len(pl.Segments) > liveEdge {
			p.next = last - liveEdge + 1
		}
	} else if last < p.newest {
		p.stale++ // the edge served an older playlist than it did before
	}
	p.newest = max(p.newest, last)
	if p.next < first {
		slid := int64(first - p.next)
		p.missedSlid += slid
		p.r.live.missed.Add(slid)
		p.next = first
	}
	for s := p.next; s <= last; s++ {
		if _, ok := p.listedAt[s]; !ok {
			p.listedAt[s] = listed
		}
	}
	for _, m := range pl.Maps {
		if !p.maps[m] {
			if mu, err := base.Parse(m); err == nil && p.fetchSegment(ctx, mu) {
				p.maps[m] = true
			}
		}
	}
	for ; p.next <= last; p.next++ {
		seq := p.next
		su, err := base.Parse(pl.Segments[seq-first])
		ok := err == nil && p.fetchSegment(ctx, su)
		if ctx.Err() != nil {
			return // stopped mid-download: neither received nor missed
		}
		// The target duration bounds each segment's (RFC 8216 4.3.3.1),
		// so a segment is late when it took longer than that since it
		// was listed.
		at := p.listedAt[seq]
		delete(p.listedAt, seq)
		switch {
		case err != nil:
			p.record(outcome{kind: kindSegment, errCode: "bad_uri", err: err}, base)
			fallthrough
		case !ok:
			p.missedFailed++
			p.r.live.missed.Add(1)
		default:
			p.received++
			p.r.live.received.Add(1)
			d := p.target
			if k := seq - first; int(k) < len(pl.Durations) && pl.Durations[k] > 0 {
				d = pl.Durations[k]
			}
			p.playback.got(time.Now(), p.startAt, d)
			if time.Since(at) > p.target {
				p.late++
				p.r.live.late.Add(1)
			}
		}
	}
	if pl.Ended && p.next > last {
		p.ended = true // a finished stream: nothing more will come
	}
}

// fetchSegment downloads a segment and records it; false when it failed
// or the run ended.
func (p *player) fetchSegment(ctx context.Context, u *url.URL) bool {
	p.shard.requested(u.Path)
	_, o, cancelled := p.get(ctx, kindSegment, u, io.Discard)
	if cancelled {
		return false
	}
	p.record(o, u)
	return o.errCode == ""
}

// get fetches u. Playlists are returned (sink nil); segments are streamed
// into sink. The outcome has an errCode for anything but a whole 200
// response. cancelled is true when the run ended first: that says
// nothing about the node, so the caller records nothing.
func (p *player) get(ctx context.Context, k kind, u *url.URL, sink io.Writer) (body []byte, o outcome, cancelled bool) {
	o.kind = k
	rctx, cancel := context.WithTimeout(ctx, p.r.cfg.RequestTimeout)
	defer cancel()
	var firstByte time.Time
	reused := true
	trace := &httptrace.ClientTrace{
		GotConn:              func(info httptrace.GotConnInfo) { reused = info.Reused },
		GotFirstResponseByte: func() { firstByte = time.Now() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(rctx, trace), http.MethodGet, u.String(), nil)
	if err != nil {
		o.fail("bad_uri", err)
		return nil, o, false
	}
	req.Header.Set("User-Agent", "relaymesh-bench/hls player-"+strconv.Itoa(p.idx))
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		o.newConn = !reused
		o.fail(transportCode(err), err)
		return nil, o, ctx.Err() != nil
	}
	defer resp.Body.Close()
	o.status, o.newConn = resp.StatusCode, !reused
	o.ttfb = firstByte.Sub(start)
	if firstByte.IsZero() {
		o.ttfb = time.Since(start)
	}
	o.cache = parseCacheStatus(resp.Header.Get("Cache-Status"))
	var buf bytes.Buffer
	if sink == nil {
		sink = &buf
	}
	limit := int64(maxSegmentBytes)
	if k == kindPlaylist {
		limit = playlist.MaxBytes + 1 // one more: Parse refuses what is too big
	}
	o.bytes, err = io.Copy(sink, io.LimitReader(resp.Body, limit))
	o.total = time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, o, true // the run ended mid-body
	case err != nil:
		o.fail("body_"+transportCode(err), err)
	case resp.StatusCode != http.StatusOK:
		o.fail(strconv.Itoa(resp.StatusCode), errors.New(resp.Status))
	}
	return buf.Bytes(), o, false
}

// maxSegmentBytes bounds one segment's download; the rest is not read
// (a 1 s segment of 4K video is ~3 MB).
const maxSegmentBytes = 64 << 20

func (o *outcome) fail(code string, err error) {
	if o.errCode == "" {
		o.errCode, o.err = code, err
	}
}

func (p *player) record(o outcome, u *url.URL) {
	p.shard.record(o)
	p.r.live.requests.Add(1)
	p.r.live.bytes.Add(o.bytes)
	if o.errCode != "" {
		p.r.live.errors.Add(1)
		p.r.samples.add(o.kind.String()+" "+o.errCode, "player %d: %s %s: %s: %v", p.idx, o.kind, u, o.errCode, o.err)
	}
}

// transportCode classifies a failed request for the errors table.
func transportCode(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "transport"
}
