package natsd_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/relaymesh/relaymesh/node/natsd"
	"github.com/relaymesh/relaymesh/node/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, nodetest.LeakOptions()...) }

func start(t *testing.T, cfg natsd.Config) *natsd.Server {
	t.Helper()
	cfg.DataDir = t.TempDir()
	s, err := natsd.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func connect(addr string, opts ...nats.Option) error {
	nc, err := nats.Connect("nats://"+addr, append(opts, nats.Timeout(5*time.Second), nats.NoReconnect())...)
	if err == nil {
		nc.Close()
	}
	return err
}

// TestOnlyTheConfiguredBackendUserLogsIn: the client port admits the
// configured user only; the node's own in-process login (a per-boot
// password) and the leaf listener are no way in for a local process.
func TestOnlyTheConfiguredBackendUserLogsIn(t *testing.T) {
	s := start(t, natsd.Config{Name: "seoul-1", ClientListen: "127.0.0.1:0", User: "bot", Password: "bot-password"})
	if err := connect(s.ClientAddr(), nats.UserInfo("bot", "bot-password")); err != nil {
		t.Fatalf("configured user refused: %v", err)
	}
	for _, opts := range [][]nats.Option{
		nil,
		{nats.UserInfo("bot", "wrong")},
		{nats.UserInfo("relaymesh-node", "")},
		{nats.UserInfo("relaymesh-leaf", "relaymesh-leaf")}, // the fixed leaf login of old
		{nats.UserInfo("seoul-1", s.LeafSecret())},
	} {
		if err := connect(s.ClientAddr(), opts...); err == nil {
			t.Fatalf("client port admitted %v", opts)
		}
		if err := connect(s.LeafAddr(), opts...); err == nil {
			t.Fatalf("leaf listener admitted a client with %v", opts)
		}
	}
}

// TestSecretsArePerBoot: two servers never share a leaf secret, so one
// mesh's servers cannot log in to another's on the same host.
func TestSecretsArePerBoot(t *testing.T) {
	a, b := start(t, natsd.Config{Name: "seoul-1"}), start(t, natsd.Config{Name: "seoul-1"})
	if a.LeafSecret() == b.LeafSecret() || len(a.LeafSecret()) < 20 {
		t.Fatalf("leaf secrets %q and %q", a.LeafSecret(), b.LeafSecret())
	}
}
