package origin_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/relaymesh/relaymesh/origin"
	"github.com/relaymesh/relaymesh/origin/devs3"
)

func TestBehaviourDevS3(t *testing.T) {
	testBehaviour(t, startDevS3(t))
}

// startDevS3 runs the embedded origin of `relaymesh dev` on a loopback port.
func startDevS3(t *testing.T) testServer {
	t.Helper()
	const bucket = "relaymesh-test"
	s, err := devs3.Start("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)), bucket)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Close(ctx); err != nil {
				t.Errorf("stopping devs3: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return testServer{
		cfg: origin.Config{
			Endpoint: s.Endpoint(), Bucket: bucket, Region: "us-east-1",
			AccessKey: "dev", SecretKey: "dev-secret", // any: devs3 does not check
		},
		stop: stop,
	}
}
