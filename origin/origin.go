// Package origin is the node's access to the S3-compatible origin that
// holds every stream's playlists and segments (github.com/minio/minio-go).
package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Config says where the origin is. It mirrors config.Origin.
type Config struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	Region    string
	AccessKey string // with SecretKey; both empty: environment or instance role
	SecretKey string
	UseTLS    bool

	// Timeout bounds each call as a whole: every attempt, the waits between
	// them and, for Get, reading the body. It is what an edge waits before
	// it answers 504 or serves stale content. 0: 10s.
	Timeout time.Duration

	// Attempts is how many requests one call may make when they fail
	// transiently (network errors, 5xx, 429/SlowDown). More ride out longer
	// hiccups but hold a caller longer; Timeout caps them anyway. 0: 3.
	Attempts int

	// Backoff is the wait before the second attempt; it doubles for each
	// further one (capped at 2s), half of it random so edges that failed
	// together do not retry together. 0: 100ms. (minio-go adds a random
	// 0-200ms of its own after each failed request: its retry loop sleeps
	// before it sees that retries are off. Only a global var changes that.)
	Backoff time.Duration

	// Transport carries the HTTP requests; nil: minio-go's default.
	// Tests wrap it to count requests and inject faults.
	Transport http.RoundTripper
}

// Client talks to the origin bucket.
type Client struct {
	cfg Config
	s3  *minio.Client
}

// New builds a client; it does not contact the origin.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("origin: endpoint and bucket are required")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("origin: bucket %q: %w", cfg.Bucket, err)
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		// The standard AWS chain: environment variables, then the EC2
		// instance role that the Terraform stack attaches.
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.IAM{},
		})
	}
	if cfg.Timeout < 0 || cfg.Attempts < 0 || cfg.Backoff < 0 {
		return nil, fmt.Errorf("origin: timeout %v, attempts %d and backoff %v must not be negative",
			cfg.Timeout, cfg.Attempts, cfg.Backoff)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     creds,
		Secure:    cfg.UseTLS,
		Region:    cfg.Region,
		Transport: cfg.Transport,
		// Retries happen in one place, ours (retry.go), bounded by
		// Attempts and Timeout; minio-go's own would retry 10 times.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	return &Client{cfg: cfg, s3: c}, nil
}

// Ping checks that the bucket exists and is reachable.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	ok, err := c.s3.BucketExists(ctx, c.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("origin %s: %w", c.cfg.Endpoint, err)
	}
	if !ok {
		return fmt.Errorf("origin %s: bucket %q not found", c.cfg.Endpoint, c.cfg.Bucket)
	}
	return nil
}

// Bucket is the origin bucket's name.
func (c *Client) Bucket() string { return c.cfg.Bucket }
