package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Kind says what an Op does at the origin.
type Kind uint8

const (
	// KindPut stores Body under Key.
	KindPut Kind = 1
	// KindDelete removes Key.
	KindDelete Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindPut:
		return "PUT"
	case KindDelete:
		return "DELETE"
	default:
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
}

// Limits of the record format (see record.go). Keys are validated more
// strictly by the HTTP layer; these only keep a record encodable.
const (
	MaxKeyLen         = 1024
	MaxContentTypeLen = 255
)

// Op is one streamer request to replay at the origin: a PUT of an object or
// a DELETE of one (ffmpeg's HLS muxer with -method PUT sends both).
//
// Bodies are streams, never held whole in memory by the spool: Append
// copies Body to disk as it arrives, and Run hands the apply func a reader
// over the op's file.
type Op struct {
	Kind        Kind
	Key         string // origin object key, "{stream}/{path}"
	ContentType string // PUT only
	// Body is read to EOF by Append (PUT only; nil is an empty body). In
	// the op Run passes to apply it reads the recorded body from the start
	// on every attempt.
	Body io.Reader
	// Size is the body's length: -1 when not known in advance (a chunked
	// upload); Append then takes what Body yields, up to
	// Config.MaxObjectBytes. A known Size that Body does not match fails the
	// Append. Run always passes the recorded length.
	Size int64

	// Seq and Appended are set by the spool when it hands the op to the
	// apply func of Run; Append ignores them.
	Seq      uint64
	Appended time.Time
}

// Put returns an op that stores body under key.
func Put(key, contentType string, body []byte) Op {
	return Op{Kind: KindPut, Key: key, ContentType: contentType, Body: bytes.NewReader(body), Size: int64(len(body))}
}

// Delete returns an op that removes key.
func Delete(key string) Op {
	return Op{Kind: KindDelete, Key: key}
}

func (op Op) String() string {
	return fmt.Sprintf("%s %q (seq %d, %d bytes)", op.Kind, op.Key, op.Seq, op.Size)
}

// ErrInvalidOp is returned by Append for an op that cannot be recorded.
var ErrInvalidOp = errors.New("spool: invalid op")

// validate reports why op cannot be spooled. It checks only what the record
// format needs; what a valid HLS key is belongs to the HTTP layer.
func (op Op) validate() error {
	switch op.Kind {
	case KindPut:
		if op.Size < -1 {
			return fmt.Errorf("%w: PUT %q of size %d", ErrInvalidOp, op.Key, op.Size)
		}
	case KindDelete:
		if op.ContentType != "" || op.Body != nil || op.Size != 0 {
			return fmt.Errorf("%w: DELETE %q carries a body or content type", ErrInvalidOp, op.Key)
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidOp, uint8(op.Kind))
	}
	if op.Key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidOp)
	}
	if len(op.Key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes, max %d", ErrInvalidOp, len(op.Key), MaxKeyLen)
	}
	if len(op.ContentType) > MaxContentTypeLen {
		return fmt.Errorf("%w: content type of %d bytes, max %d", ErrInvalidOp, len(op.ContentType), MaxContentTypeLen)
	}
	return nil
}
