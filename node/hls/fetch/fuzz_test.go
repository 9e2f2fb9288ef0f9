package fetch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/relaymesh/relaymesh/origin"
)

// FuzzDecodeRequest: any bytes give a valid key or an error, never a panic,
// and an accepted request re-encodes to the bytes it was read from.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(appendRequest(nil, "demo/index.m3u8"))
	f.Add(appendRequest(nil, "demo/1080p/seg-000001.m4s"))
	f.Add([]byte{1, 0xff, 0xff})
	f.Add([]byte{1, 0, 4, 'a', '/', '.', '.'})
	f.Add([]byte{2, 0, 3, 'a', '/', 'b'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := readRequest(bytes.NewReader(data))
		if err != nil {
			if key != "" {
				t.Fatalf("error %v with key %q", err, key)
			}
			return
		}
		if verr := validKey(key); verr != nil {
			t.Fatalf("accepted key %q that validKey refuses: %v", key, verr)
		}
		if enc := appendRequest(nil, key); !bytes.HasPrefix(data, enc) {
			t.Fatalf("key %q re-encodes to %x, read from %x", key, enc, data)
		}
	})
}

// FuzzDecodeResponse: any bytes give an entry or an error of a known kind,
// never a panic; an accepted entry survives a re-encode and decode.
func FuzzDecodeResponse(f *testing.F) {
	ok, _ := appendOKHeader(nil, segment("body"))
	f.Add(append(ok, "body"...))
	f.Add(appendError(nil, StatusNotFound, "no such key"))
	f.Add(appendError(nil, StatusInternal, ""))
	f.Add([]byte{1, 0, 0, 2, '{', '}', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		e, err := readResponse(bytes.NewReader(data), max)
		if err != nil {
			var se *StatusError
			switch {
			case errors.As(err, &se):
				if se.Status == StatusOK || se.Status > StatusInternal || len(se.Msg) > 3*MaxMessageLen {
					t.Fatalf("status error %+v", se)
				}
				if se.Status == StatusNotFound && !errors.Is(err, origin.ErrNotFound) {
					t.Fatalf("not found answer %v does not match origin.ErrNotFound", err)
				}
			case errors.Is(err, ErrProtocol), errors.Is(err, ErrPeerFailed), errors.Is(err, ErrTooLarge):
			default:
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if int64(len(e.Body)) != e.Size || e.Size > max {
			t.Fatalf("entry of %d bytes, Size %d", len(e.Body), e.Size)
		}
		hdr, err := appendOKHeader(nil, e)
		if err != nil {
			return // meta that grew past MaxMetaLen when re-encoded (escaping)
		}
		e2, err := readResponse(bytes.NewReader(append(hdr, e.Body...)), max)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !bytes.Equal(e2.Body, e.Body) || e2.ContentType != e.ContentType || e2.ETag != e.ETag ||
			e2.Immutable != e.Immutable || !e2.Stored.Equal(e.Stored) || !e2.Expires.Equal(e.Expires) {
			t.Fatalf("round trip changed the entry: %+v -> %+v", e.Meta, e2.Meta)
		}
	})
}
