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

// Server is a MinIO server with one bucket, running until Stop (and again
// after Restart) or the end of the test.
type Server struct {
	Config origin.Config // endpoint, bucket, credentials

	t       testing.TB
	bin     string
	dir     string
	addr    string
	console string
	out     *lockedBuffer

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server binary.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

const (
	rootUser     = "relaymesh"
	rootPassword = "relaymesh-test-secret"
	bucketName   = "relaymesh-test"
)

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
func Start(t testing.TB) *Server {
	t.Helper()
	if os.Getenv("RELAYMESH_MINIO") != "1" {
		t.Skip("real MinIO tests skipped: set RELAYMESH_MINIO=1 to run them (bash .ci/minio.sh installs the server)")
	}
	s := &Server{
		t: t, bin: binary(t), dir: t.TempDir(),
		addr: freeAddr(t), console: freeAddr(t), out: &lockedBuffer{},
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("minio output:\n%s", s.out.String())
		}
	})
	s.run()

	admin, err := minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(rootUser, rootPassword, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.MakeBucket(ctx, bucketName, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("creating bucket: %v", err)
	}
	s.Config = origin.Config{Endpoint: s.addr, Bucket: bucketName, Region: "us-east-1", AccessKey: rootUser, SecretKey: rootPassword}
	c, err := origin.New(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// Stop kills the server (as a crash or an outage would); the data stays
// for Restart. Idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.exited
	s.proc = nil
}

// Restart starts a stopped server again on the same address and data,
// and waits until it is ready. A running server is left alone.
func (s *Server) Restart() {
	s.t.Helper()
	s.run()
}

// run starts the binary unless it runs, and waits until it is ready.
func (s *Server) run() {
	t := s.t
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return
	}
	cmd := exec.Command(s.bin, "server", filepath.Join(s.dir, "data"),
		"--address", s.addr, "--console-address", s.console,
		"--certs-dir", filepath.Join(s.dir, "certs"), // not ~/.minio
		"--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+rootUser, "MINIO_ROOT_PASSWORD="+rootPassword,
		"MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", s.bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	s.proc = p

	// Ready: the readiness endpoint answers 200.
	deadline := time.Now().Add(30 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get("http://" + s.addr + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("minio exited before it was ready:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not ready at %s after 30s (last: %v):\n%s", s.addr, err, s.out.String())
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
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
