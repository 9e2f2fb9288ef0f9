package leaf

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/relaymesh/relaymesh/node/nodetest"
)

// pair is a parent with one child, its leaf link up.
func pair(t *testing.T) (parent, child *member) {
	t.Helper()
	parent, child = newMember(t, "tokyo-1"), newMember(t, "seoul-1")
	child.lm.SetParent(parent.parent())
	nodetest.WaitFor(t, 10*time.Second, "leaf link up", func() bool {
		return parent.ns.LeafCount() == 1 && child.ns.LeafCount() == 1
	})
	return parent, child
}

// rawLeaf is a hand-driven NATS leaf connection: it does not filter by the
// permissions the hub announces, as a hostile process would not.
type rawLeaf struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialRaw opens a TCP connection to addr and reads the server's INFO.
func dialRaw(t *testing.T, addr string) *rawLeaf {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// A bound on the whole exchange, not a wait: every read below returns
	// as soon as the server answers.
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	l := &rawLeaf{t: t, c: c, r: bufio.NewReader(c)}
	if line := l.line(); !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line from %s: %q, want INFO", addr, line)
	}
	return l
}

func (l *rawLeaf) send(format string, args ...any) {
	l.t.Helper()
	if _, err := fmt.Fprintf(l.c, format, args...); err != nil {
		l.t.Fatal(err)
	}
}

// line reads one protocol line; "" means the server closed the connection.
func (l *rawLeaf) line() string {
	s, err := l.r.ReadString('\n')
	if err != nil && s == "" {
		return ""
	}
	return strings.TrimRight(s, "\r\n")
}

// login sends a leaf CONNECT and a PING and returns the server's verdict:
// "PONG" when it admitted the connection, else the error or "" (closed).
func (l *rawLeaf) login(user, pass string) string {
	l.t.Helper()
	connect, _ := json.Marshal(map[string]any{"user": user, "pass": pass, "name": "intruder", "headers": true})
	l.send("CONNECT %s\r\nPING\r\n", connect)
	return l.until("PONG")
}

// until reads lines until one starts with want or is an error, and
// returns that line ("" if the connection closed first). It answers the
// server's pings.
func (l *rawLeaf) until(want string) string {
	for {
		line := l.line()
		switch {
		case line == "", strings.HasPrefix(line, "-ERR"), strings.HasPrefix(line, want):
			return line
		case line == "PING":
			l.send("PONG\r\n")
		}
	}
}

// TestLocalProcessCannotReachNATS: a process on the host, without the
// node's per-boot secret, gets nothing from either listener the leaf links
// use: not the child's forwarder (carried to the parent over QUIC), not
// the parent's leaf listener, whether it speaks as a NATS client, as a raw
// leaf, or as a whole foreign nats-server.
func TestLocalProcessCannotReachNATS(t *testing.T) {
	parent, child := pair(t)
	forwarder, leafPort := child.lm.ln.Addr().String(), parent.ns.LeafAddr()

	for _, addr := range []string{forwarder, leafPort} {
		for _, opts := range [][]nats.Option{nil, {nats.UserInfo(child.name, "guess")}, {nats.UserInfo(child.name, child.ns.LeafSecret())}} {
			opts = append(opts, nats.Timeout(5*time.Second), nats.NoReconnect())
			if nc, err := nats.Connect("nats://"+addr, opts...); err == nil {
				nc.Close()
				t.Fatalf("NATS client connected to %s", addr)
			}
		}
		// The real secret only works through the splice, which is what
		// vouches for the child: dialled directly, the leaf port refuses it.
		for _, cred := range [][2]string{
			{child.name, ""}, {child.name, "guess"}, {child.name, child.ns.LeafSecret()},
			{"relaymesh-leaf", "relaymesh-leaf"}, // the fixed login of old
		} {
			if addr == forwarder && cred[1] == child.ns.LeafSecret() {
				continue // the child itself; TestLeafChildLeastPrivilege
			}
			if got := dialRaw(t, addr).login(cred[0], cred[1]); got == "PONG" {
				t.Fatalf("raw leaf logged in at %s as %v", addr, cred)
			}
		}
	}

	// A foreign nats-server (another mesh on the same host, say) with
	// leaf remotes at both: the parent refuses every attempt. At the leaf
	// port the intruder hears why; through the forwarder the refusal may
	// be lost as the splice tears down, so there the evidence is that the
	// intruder keeps coming back (each redial is a new stream at the
	// parent) and is never admitted.
	logs := &authLog{}
	carried := parent.ep.Stats().StreamsAccepted
	intruder := startIntruder(t, logs, forwarder, leafPort, child.name)
	nodetest.WaitFor(t, 20*time.Second, "the intruder's leaf logins refused at both addresses", func() bool {
		return logs.refusals() >= 3 && parent.ep.Stats().StreamsAccepted >= carried+3
	})
	if n := intruder.NumLeafNodes(); n != 0 {
		t.Fatalf("intruder has %d leaf connections", n)
	}
	if n := parent.ns.LeafCount(); n != 1 {
		t.Fatalf("parent has %d leaf connections, want 1 (the child)", n)
	}
	if !relays(t, child, parent) {
		t.Fatal("the child's own link stopped relaying")
	}
}

// startIntruder runs a separate nats-server with one leaf remote per
// address, logging in as user with a guessed password.
func startIntruder(t *testing.T, logs *authLog, forwarder, leafPort, user string) *server.Server {
	t.Helper()
	o := &server.Options{ServerName: "intruder", DontListen: true, NoSigs: true,
		JetStream: true, JetStreamDomain: "intruder", StoreDir: t.TempDir()}
	o.LeafNode.ReconnectInterval = 100 * time.Millisecond
	for _, addr := range []string{forwarder, leafPort} {
		u := &url.URL{Scheme: "nats-leaf", Host: addr, User: url.UserPassword(user, "guess")}
		o.LeafNode.Remotes = append(o.LeafNode.Remotes, &server.RemoteLeafOpts{URLs: []*url.URL{u}})
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.SetLoggerV2(logs, false, false, false)
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("intruder not ready")
	}
	return s
}

// authLog counts a nats-server's reports of refused logins.
type authLog struct {
	mu sync.Mutex
	n  int
}

func (l *authLog) note(format string, v ...any) {
	if strings.Contains(fmt.Sprintf(format, v...), "Authorization Violation") {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
}

func (l *authLog) refusals() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *authLog) Noticef(format string, v ...any) { l.note(format, v...) }
func (l *authLog) Warnf(format string, v ...any)   { l.note(format, v...) }
func (l *authLog) Fatalf(format string, v ...any)  { l.note(format, v...) }
func (l *authLog) Errorf(format string, v ...any)  { l.note(format, v...) }
func (l *authLog) Debugf(format string, v ...any)  { l.note(format, v...) }
func (l *authLog) Tracef(string, ...any)           {}

// TestLeafChildLeastPrivilege: a child logged in with its own secret (a
// compromised node, say, that ignores the permissions its parent
// announces) may publish its own chat subjects, but the parent cuts it off
// for another node's chat.o subjects or a JetStream call outside stream
// sourcing, and the call does nothing. (The parent's log names each
// violation.)
func TestLeafChildLeastPrivilege(t *testing.T) {
	parent, child := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := parent.ns.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "ROOMS", Subjects: []string{"rooms.test"}}); err != nil {
		t.Fatal(err)
	}
	sub, err := parent.ns.Conn().SubscribeSync("chat.o.>")
	if err != nil {
		t.Fatal(err)
	}
	_ = parent.ns.Conn().Flush()

	login := func() *rawLeaf {
		l := dialRaw(t, child.lm.ln.Addr().String())
		if got := l.login(child.name, child.ns.LeafSecret()); got != "PONG" {
			t.Fatalf("the child's own login: %q", got)
		}
		return l
	}

	// Allowed: the child's own messages reach the parent.
	l := login()
	l.send("LMSG chat.o.%s.lobby 2\r\nhi\r\nPING\r\n", child.name)
	if got := l.until("PONG"); got != "PONG" {
		t.Fatalf("own chat subject: %q", got)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || m.Subject != "chat.o."+child.name+".lobby" {
		t.Fatalf("own message not relayed: %v %v", m, err)
	}

	forbidden := []string{
		"chat.o." + parent.name + ".lobby",                // forging the parent's messages
		"$JS." + parent.name + ".API.STREAM.DELETE.ROOMS", // deleting its streams
		"$JS." + parent.name + ".API.STREAM.PURGE.ROOMS",
		"$JS.API.STREAM.DELETE.ROOMS",
		"$JS." + parent.name + ".API.CONSUMER.CREATE.ROOMS", // reading other than ORIGIN
	}
	for _, subj := range forbidden {
		l := login()
		l.send("LMSG %s _INBOX.x 2\r\n{}\r\nPING\r\n", subj)
		// The parent answers a permissions violation and closes; the
		// splice may drop the answer as it tears down, so the verdict is
		// the connection cut instead of a PONG.
		if got := l.until("PONG"); got == "PONG" {
			t.Fatalf("publish to %s: the parent kept the connection", subj)
		}
	}
	if _, err := parent.ns.JetStream().Stream(ctx, "ROOMS"); err != nil {
		t.Fatalf("ROOMS after the attempts: %v", err)
	}
	if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("forged message reached the parent: %s", m.Subject)
	}

	// The real child's server filters what its parent forbids before it
	// sends, so the same calls through it never arrive either.
	if _, err := child.ns.Conn().Request("$JS."+parent.name+".API.STREAM.DELETE.ROOMS", nil, time.Second); err == nil {
		t.Fatal("stream delete across the leaf link was answered")
	}
	if _, err := parent.ns.JetStream().Stream(ctx, "ROOMS"); err != nil {
		t.Fatalf("ROOMS after the child's request: %v", err)
	}
}

func TestReadHeaderRejectsBadInput(t *testing.T) {
	for _, in := range []string{"", "\x01", "\x02\x03abc", "\x01\x00", "\x01\x05abc"} {
		if _, err := readHeader(strings.NewReader(in)); err == nil {
			t.Errorf("header %q accepted", in)
		}
	}
	if s, err := readHeader(strings.NewReader("\x01\x03abcNATS")); err != nil || s != "abc" {
		t.Fatalf("good header: %q, %v", s, err)
	}
}

// TestSourcingAcrossTwoHopsWithinPermissions: what the chat relay needs
// (node/chat/store.go: every node's ROOMS sources every other node's
// ORIGIN across domains) works within the leaf permissions, both up and
// down a two-hop path, including a source removed and added again.
func TestSourcingAcrossTwoHopsWithinPermissions(t *testing.T) {
	root, mid, tail := newMember(t, "tokyo-1"), newMember(t, "virginia-1"), newMember(t, "frankfurt-1")
	mid.lm.SetParent(root.parent())
	tail.lm.SetParent(mid.parent())
	nodetest.WaitFor(t, 10*time.Second, "leaf links up", func() bool {
		return root.ns.LeafCount() == 1 && mid.ns.LeafCount() == 2 && tail.ns.LeafCount() == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rooms := func(m *member, from ...string) {
		t.Helper()
		var srcs []*jetstream.StreamSource
		for _, f := range from {
			srcs = append(srcs, &jetstream.StreamSource{Name: "ORIGIN", External: &jetstream.ExternalStream{APIPrefix: "$JS." + f + ".API"}})
		}
		if _, err := m.ns.JetStream().CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "ROOMS", Sources: srcs}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*member{root, tail} {
		if _, err := m.ns.JetStream().CreateStream(ctx, jetstream.StreamConfig{Name: "ORIGIN", Subjects: []string{"chat.o." + m.name + ".>"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.ns.JetStream().Publish(ctx, "chat.o."+m.name+".lobby", []byte("hi")); err != nil {
			t.Fatal(err)
		}
	}
	holds := func(m *member, n uint64) func() bool {
		return func() bool {
			st, err := m.ns.JetStream().Stream(ctx, "ROOMS")
			if err != nil {
				return false
			}
			info, err := st.Info(ctx)
			return err == nil && info.State.Msgs == n
		}
	}
	// A consumer-create request sent before the link's interest has
	// propagated is lost and JetStream waits 30 s for its answer, so, as
	// node/chat does, a source that has not delivered is re-armed (taken
	// out and put back) every 2 s.
	sourced := func(m *member, from string, n uint64) func() bool {
		armed := time.Now()
		rooms(m, from)
		return func() bool {
			if holds(m, n)() {
				return true
			}
			if time.Since(armed) > 2*time.Second {
				rooms(m)
				rooms(m, from)
				armed = time.Now()
			}
			return false
		}
	}
	atRoot, atTail := sourced(root, tail.name, 1), sourced(tail, root.name, 1)
	nodetest.WaitFor(t, 20*time.Second, "each end sources the other's message", func() bool {
		r, tl := atRoot(), atTail()
		return r && tl
	})
	if _, err := tail.ns.JetStream().Publish(ctx, "chat.o."+tail.name+".lobby", []byte("again")); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the re-armed source delivers the next message", sourced(root, tail.name, 2))
}
