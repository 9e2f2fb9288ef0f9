package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/relaymesh/relaymesh/node/chat/wire"
)

// The publisher is the one writer of this node's ORIGIN stream.
//
// Fans' publishes are queued to it; it takes everything queued (up to
// maxBatch), gives the messages consecutive ids and sends them pipelined
// on one NATS connection, each with the expected last sequence of the one
// before it. One connection keeps them in order, so the server stores them
// in order, every id equals its stream sequence, and a batch costs one
// round trip to the store instead of one per message: publishes do not
// wait on each other the way one mutex around a synchronous publish made
// them (the profile in docs/chat-design.md).
//
// Once a message is stored, the publisher sends it on the live subject
// (core NATS, not stored) for the fast path to every node; see hub.go.
//
// A message whose expected sequence did not match (a dedup hit ahead of it
// in the batch stored nothing, or a previous run wrote in between) is sent
// again in the next batch with a fresh id; one that fails maxAttempts
// times of its own (not because of a surprise ahead of it) is given up. A
// batch whose acks do not all arrive within ackTimeout fails as a whole:
// those publishes may or may not have been stored, which is what the
// protocol's "retry with the same nonce" is for.

const (
	maxBatch    = 512
	maxAttempts = 3
	ackTimeout  = 5 * time.Second
)

// liveSubject is where a stored message is sent for live delivery:
// chat.live.<origin>.<room>.
func liveSubject(origin, room string) string { return "chat.live." + origin + "." + room }

// ofLiveSubject extracts origin and room from chat.live.<origin>.<room>.
func ofLiveSubject(subj string) (origin, room string, ok bool) {
	rest, ok := strings.CutPrefix(subj, "chat.live.")
	if !ok {
		return "", "", false
	}
	origin, room, ok = strings.Cut(rest, ".")
	if !ok || origin == "" || room == "" || strings.Contains(room, ".") {
		return "", "", false
	}
	return origin, room, true
}

type pubRequest struct {
	ctx         context.Context
	msg         wire.Message
	dedupID     string
	ownFailures int            // expected-sequence failures of its own (see send)
	done        chan pubResult // buffered, written once
}

type pubResult struct {
	msg wire.Message
	err error
}

type publisher struct {
	js   jetstream.JetStream
	nc   *nats.Conn
	self string
	log  *slog.Logger
	reqs chan *pubRequest

	// failing is set while the store answers every batch with an error:
	// readiness reports it, and it clears with the first stored message.
	failing  atomic.Bool
	failures atomic.Uint64 // publishes answered with an error

	lastSeq uint64 // ORIGIN's last sequence; owned by run
}

func newPublisher(js jetstream.JetStream, nc *nats.Conn, self string, log *slog.Logger, lastSeq uint64) *publisher {
	return &publisher{js: js, nc: nc, self: self, log: log, lastSeq: lastSeq,
		reqs: make(chan *pubRequest, 4*maxBatch)}
}

// publish stores m at this node and returns it with its id. dedupID, if
// not empty, makes it idempotent (see store.go's dedupWindow): a second
// publish with the same dedupID returns the message stored the first time.
func (p *publisher) publish(ctx context.Context, m wire.Message, dedupID string) (wire.Message, error) {
	req := &pubRequest{ctx: ctx, msg: m, dedupID: dedupID, done: make(chan pubResult, 1)}
	select {
	case p.reqs <- req:
	case <-ctx.Done():
		return m, fmt.Errorf("chat: store message: %w", ctx.Err())
	}
	select {
	case r := <-req.done:
		return r.msg, r.err
	case <-ctx.Done():
		// The publisher may still store it; a retry with the same nonce
		// finds it.
		return m, fmt.Errorf("chat: store message: %w", ctx.Err())
	}
}

// run is the publisher's loop; it returns when ctx is done, answering
// every queued publish with an error.
func (p *publisher) run(ctx context.Context) {
	var retry []*pubRequest
	for {
		batch := retry
		retry = nil
		if len(batch) == 0 {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
			case <-ctx.Done():
				p.drain(ctx.Err())
				return
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		retry = p.send(ctx, batch)
		if ctx.Err() != nil {
			for _, r := range retry {
				r.done <- pubResult{msg: r.msg, err: fmt.Errorf("chat: store message: %w", ctx.Err())}
			}
			p.drain(ctx.Err())
			return
		}
	}
}

func (p *publisher) drain(err error) {
	for {
		select {
		case r := <-p.reqs:
			r.done <- pubResult{msg: r.msg, err: fmt.Errorf("chat: store message: %w", err)}
		default:
			return
		}
	}
}

// send stores one batch and answers its requests, except those to try
// again, which it returns.
func (p *publisher) send(ctx context.Context, batch []*pubRequest) (retry []*pubRequest) {
	type sent struct {
		req  *pubRequest
		data []byte
		fut  jetstream.PubAckFuture
		err  error
	}
	out := make([]sent, 0, len(batch))
	seq := p.lastSeq
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.done <- pubResult{msg: r.msg, err: fmt.Errorf("chat: store message: %w", r.ctx.Err())}
			continue
		}
		m := r.msg
		m.ID = wire.ID{Origin: p.self, Seq: seq + 1}
		data, err := json.Marshal(m)
		if err != nil {
			r.done <- pubResult{msg: m, err: fmt.Errorf("chat: encode message: %w", err)}
			continue
		}
		opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequence(seq)}
		if r.dedupID != "" {
			opts = append(opts, jetstream.WithMsgID(r.dedupID))
		}
		fut, err := p.js.PublishMsgAsync(&nats.Msg{Subject: originSubject(p.self, m.Room), Data: data}, opts...)
		r.msg = m
		out = append(out, sent{req: r, data: data, fut: fut, err: err})
		if err == nil {
			seq++
		}
	}

	timeout := time.NewTimer(ackTimeout)
	defer timeout.Stop()
	resync := false
	for i := range out {
		s := &out[i]
		if s.err != nil {
			resync = true
			p.answer(s.req, fmt.Errorf("chat: store message: %w", s.err))
			continue
		}
		var ack *jetstream.PubAck
		var err error
		select {
		case ack = <-s.fut.Ok():
		case err = <-s.fut.Err():
		case <-timeout.C:
			err = errors.New("no answer from the store in time")
			timeout.Reset(0) // the rest of the batch times out at once
		case <-ctx.Done():
			err = ctx.Err()
		}
		switch {
		case err == nil && ack.Duplicate:
			// Stored before under this dedup id: answer with that message.
			// It did not take a sequence, so the ones after it fail their
			// expected-sequence check and go round again.
			resync = true
			p.answerStored(ctx, s.req, ack.Sequence)
		case err == nil:
			p.lastSeq = ack.Sequence
			p.failing.Store(false)
			s.req.done <- pubResult{msg: s.req.msg}
			_ = p.nc.Publish(liveSubject(p.self, s.req.msg.Room), s.data)
		case isWrongLastSequence(err):
			// Only the first failure in a batch is the message's own:
			// the ones behind it fail because of it, and retries of
			// stored messages ahead of them can make them fail again
			// batch after batch, which must not count against them.
			if !resync {
				s.req.ownFailures++
			}
			resync = true
			if s.req.ownFailures >= maxAttempts {
				p.answer(s.req, fmt.Errorf("chat: store message: %w", err))
				break
			}
			retry = append(retry, s.req)
		default:
			resync = true
			p.answer(s.req, fmt.Errorf("chat: store message: %w", err))
		}
	}
	if resync {
		if err := p.resync(ctx); err != nil {
			p.log.Warn("reading the chat store's position", "err", err)
		}
	}
	return retry
}

// answer fails a publish and counts it. Errors of the store mark it
// failing; the node shutting down does not.
func (p *publisher) answer(r *pubRequest, err error) {
	p.failures.Add(1)
	if !isWrongLastSequence(err) && !errors.Is(err, context.Canceled) {
		p.failing.Store(true)
	}
	r.done <- pubResult{msg: r.msg, err: err}
}

// answerStored answers a deduplicated publish with the message stored
// under its dedup id. Retries are rare, so the read runs in line.
func (p *publisher) answerStored(ctx context.Context, r *pubRequest, seq uint64) {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	m, err := readStored(ctx, p.js, seq)
	r.done <- pubResult{msg: m, err: err}
}

// resync reads ORIGIN's last sequence, after anything that may have left
// lastSeq behind the stream or ahead of it.
func (p *publisher) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	st, err := p.js.Stream(ctx, originStream)
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	p.lastSeq = info.State.LastSeq
	return nil
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// readStored reads the message stored at seq in ORIGIN.
func readStored(ctx context.Context, js jetstream.JetStream, seq uint64) (wire.Message, error) {
	st, err := js.Stream(ctx, originStream)
	if err != nil {
		return wire.Message{}, fmt.Errorf("chat: read stored message %d: %w", seq, err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return wire.Message{}, fmt.Errorf("chat: read stored message %d: %w", seq, err)
	}
	var m wire.Message
	if err := json.Unmarshal(raw.Data, &m); err != nil {
		return wire.Message{}, fmt.Errorf("chat: stored message %d: %w", seq, err)
	}
	return m, nil
}
