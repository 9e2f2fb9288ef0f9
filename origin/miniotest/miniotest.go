// Package miniotest starts a real MinIO server for tests, the way ops run
// one: the origin package's tests and the end-to-end tests use it. It needs
// RELAYMESH_MINIO=1 (CI sets it after .ci/minio.sh installed the server);
// without it the calling test is skipped with a message, and with it a
// missing binary fails the test.
package miniotest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/relaymesh/relaymesh/origin"
)

// Server is a running MinIO server with one bucket.
type Server struct {
	Config origin.Config // endpoint, bucket, credentials
	Stop   func()        // stops the server for good; idempotent
}

// minioBinary finds the MinIO server: on PATH, then where .ci/minio.sh
// installs it.
func binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	home, err := os.UserHomeDir()
	if err == nil {
		p := filepath.Join(home, ".cache", "relaymesh-tools", "bin", "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatal("RELAYMESH_MINIO=1 but no minio binary on PATH or at $HOME/.cache/relaymesh-tools/bin/minio: run bash .ci/minio.sh")
	return ""
}

// Start starts `minio server` on free loopback ports with a fresh data
// directory, waits until it is ready, creates a bucket and kills the
// server in t.Cleanup.
func Start(t testing.TB) Server {
	t.Helper()
	if os.Getenv("RELAYMESH_MINIO") != "1" {
		t.Skip("real MinIO tests skipped: set RELAYMESH_MINIO=1 to run them (bash .ci/minio.sh installs the server)")
	}
	bin := binary(t)
	const (
		user     = "relaymesh"
		password = "relaymesh-test-secret"
		bucket   = "relaymesh-test"
	)
	dir := t.TempDir()
	addr, console := freeAddr(t), freeAddr(t)
	var out lockedBuffer
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", addr, "--console-address", console,
		"--certs-dir", filepath.Join(dir, "certs"), // not ~/.minio
		"--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password,
		"MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("minio output:\n%s", out.String())
		}
	})

	// Ready: the liveness endpoint answers and the bucket can be made.
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get("http://" + addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("minio exited before it was ready:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not ready at %s after 30s (last: %v):\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	admin, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(user, password, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("creating bucket: %v", err)
	}
	cfg := origin.Config{Endpoint: addr, Bucket: bucket, Region: "us-east-1", AccessKey: user, SecretKey: password}
	c, err := origin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	return Server{Config: cfg, Stop: stop}
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
