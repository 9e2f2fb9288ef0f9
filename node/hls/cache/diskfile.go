package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// On-disk object file. One file per object, named by fileName(key), so a key
// is never used as a path. All integers are big-endian.
//
//	offset  size  field
//	0       4     magic "RMHC"
//	4       1     format version (1)
//	5       4     header length n, at most maxHeaderLen
//	9       n     header: JSON fileHeader
//	9+n     size  body; its CRC-32C (Castagnoli) is in the header
//
// The file's length must be exactly 9+n+size: anything else is a partial or
// foreign file. The body checksum is verified on every read, not at start, so
// a restart does not read the whole cache.
const (
	fileMagic     = "RMHC"
	fileVersion   = 1
	filePrefixLen = 9
	maxHeaderLen  = 64 << 10
	// tempPrefix starts the names of files being written. Such files left
	// in the directory are partial writes from a crash and are deleted at
	// start.
	tempPrefix = ".tmp-"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type fileHeader struct {
	Key         string    `json:"key"`
	ContentType string    `json:"content_type,omitempty"`
	ETag        string    `json:"etag,omitempty"`
	Stored      time.Time `json:"stored"`
	Size        int64     `json:"size"`
	CRC32C      string    `json:"crc32c"` // 8 hex digits
}

// fileName maps a key to its file name: the hex SHA-256 of the key.
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// isObjectName reports whether name has the shape of a fileName result.
func isObjectName(name string) bool {
	if len(name) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func crcHex(b []byte) string { return fmt.Sprintf("%08x", crc32.Checksum(b, crcTable)) }

// encodeHeader returns the prefix and header of e's file; the body follows.
func encodeHeader(e *Entry) ([]byte, error) {
	h, err := json.Marshal(fileHeader{
		Key:         e.Key,
		ContentType: e.ContentType,
		ETag:        e.ETag,
		Stored:      e.Stored,
		Size:        int64(len(e.Body)),
		CRC32C:      crcHex(e.Body),
	})
	if err != nil {
		return nil, err
	}
	if len(h) > maxHeaderLen {
		return nil, fmt.Errorf("header of %d bytes is longer than %d", len(h), maxHeaderLen)
	}
	buf := make([]byte, filePrefixLen, filePrefixLen+len(h))
	copy(buf, fileMagic)
	buf[4] = fileVersion
	binary.BigEndian.PutUint32(buf[5:], uint32(len(h)))
	return append(buf, h...), nil
}

var errCorrupt = errors.New("corrupt cache file")

// readHeader reads and checks the prefix and header of a file of total
// length total. It returns the header and the body's offset.
func readHeader(r io.Reader, total int64) (fileHeader, int64, error) {
	var h fileHeader
	var prefix [filePrefixLen]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return h, 0, fmt.Errorf("%w: short prefix: %w", errCorrupt, err)
	}
	if string(prefix[:4]) != fileMagic || prefix[4] != fileVersion {
		return h, 0, fmt.Errorf("%w: bad magic or version %q", errCorrupt, prefix[:5])
	}
	n := binary.BigEndian.Uint32(prefix[5:])
	if n > maxHeaderLen {
		return h, 0, fmt.Errorf("%w: header length %d", errCorrupt, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, 0, fmt.Errorf("%w: short header: %w", errCorrupt, err)
	}
	if err := json.Unmarshal(buf, &h); err != nil {
		return h, 0, fmt.Errorf("%w: header: %w", errCorrupt, err)
	}
	off := int64(filePrefixLen) + int64(n)
	if h.Size < 0 || off+h.Size != total {
		return h, 0, fmt.Errorf("%w: file is %d bytes, header says %d", errCorrupt, total, off+h.Size)
	}
	if err := validKey(h.Key); err != nil {
		return h, 0, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return h, off, nil
}

// decodeFile parses a whole file read into data, checks that it holds key
// and that the body matches its checksum. The entry's Body aliases data.
func decodeFile(data []byte, key string) (Entry, error) {
	h, off, err := readHeader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Entry{}, err
	}
	if h.Key != key {
		return Entry{}, fmt.Errorf("%w: holds key %q", errCorrupt, h.Key)
	}
	body := data[off:]
	if crcHex(body) != h.CRC32C {
		return Entry{}, fmt.Errorf("%w: body checksum mismatch", errCorrupt)
	}
	return Entry{
		Key:  h.Key,
		Body: body,
		Meta: Meta{
			ContentType: h.ContentType,
			ETag:        h.ETag,
			Size:        h.Size,
			Stored:      h.Stored,
			Immutable:   true,
		},
	}, nil
}
