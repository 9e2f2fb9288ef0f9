// Package origin is the node's access to the S3-compatible origin that
// holds every stream's playlists and segments (github.com/minio/minio-go).
package origin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config says where the origin is. It mirrors config.Origin.
type Config struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	Region    string
	AccessKey string // with SecretKey; both empty: environment or instance role
	SecretKey string
	UseTLS    bool
	Timeout   time.Duration // per call
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
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.UseTLS, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
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
