package origin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/miniotest"
)

// TestBehaviourMinIO runs the behaviour tests against a real MinIO server,
// started the way ops start one. It needs RELAYMESH_MINIO=1 (CI sets it,
// after .ci/minio.sh installed the server) and fails, not skips, when the
// variable is set and the binary is missing.
func TestBehaviourMinIO(t *testing.T) {
	testBehaviour(t, startMinIO(t))
}

func startMinIO(t *testing.T) testServer {
	s := miniotest.Start(t)
	return testServer{cfg: s.Config, stop: s.Stop}
}

func TestMinIOWrongCredentials(t *testing.T) {
	srv := startMinIO(t)
	cfg := srv.cfg
	cfg.SecretKey = "not-the-secret"
	c, ft := newTestClient(t, cfg)
	_, err := c.Stat(context.Background(), "live/index.m3u8")
	if err == nil || errors.Is(err, origin.ErrNotFound) || errors.Is(err, origin.ErrUnavailable) {
		t.Fatalf("stat with a wrong secret: %v, want a plain error", err)
	}
	if n := ft.count(); n != 1 {
		t.Fatalf("%d requests, want 1: a refusal is not retried", n)
	}
	t.Log(err)
}
