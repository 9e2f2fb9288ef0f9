package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
)

// One op is one file, named by its sequence number zero-padded to 20 digits
// (the width of the largest uint64) so that the lexical order of the names is
// the order of the ops:
//
//	00000000000000000042.op
//
// Its content, integers big-endian:
//
//	offset  size  field
//	0       4     magic "RMSP"
//	4       1     format version (1)
//	5       1     kind (1 PUT, 2 DELETE)
//	6       2     key length K
//	8       2     content type length C
//	10      8     body length B
//	18      8     sequence number (must match the file name)
//	26      8     appended at, Unix nanoseconds
//	34      4     CRC-32C of the body
//	38      K     key
//	38+K    C     content type
//	38+K+C  4     CRC-32C of bytes [0, 38+K+C)
//	42+K+C  B     body
//
// A file whose length, checksums or sequence number do not match is corrupt.
// Files are written as "*.tmp" and renamed into place only after an fsync, so
// a crash leaves at worst a temp file behind, never a half-written op.
const (
	recordMagic   = "RMSP"
	recordVersion = 1
	fixedLen      = 38
	opSuffix      = ".op"
	tmpSuffix     = ".tmp"
	seqDigits     = 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that can never be applied.
var errCorrupt = errors.New("spool: corrupt record")

func recordName(seq uint64) string {
	return fmt.Sprintf("%0*d%s", seqDigits, seq, opSuffix)
}

// parseRecordName returns the sequence number of an op file name.
func parseRecordName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, opSuffix)
	if !ok || len(digits) != seqDigits {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return seq, true
}

func recordLen(op Op) int64 {
	return int64(fixedLen + len(op.Key) + len(op.ContentType) + 4 + len(op.Body))
}

// encodeRecord lays op out as described above. op must be valid.
func encodeRecord(op Op, seq uint64, appended time.Time) []byte {
	b := make([]byte, 0, recordLen(op))
	b = append(b, recordMagic...)
	b = append(b, recordVersion, byte(op.Kind))
	b = binary.BigEndian.AppendUint16(b, uint16(len(op.Key)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(op.ContentType)))
	b = binary.BigEndian.AppendUint64(b, uint64(len(op.Body)))
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(appended.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(op.Body, crcTable))
	b = append(b, op.Key...)
	b = append(b, op.ContentType...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	return append(b, op.Body...)
}

// decodeRecord parses and verifies a whole record file. Every error wraps
// errCorrupt.
func decodeRecord(b []byte, seq uint64) (Op, error) {
	bad := func(format string, args ...any) (Op, error) {
		return Op{}, fmt.Errorf("%w: seq %d: %s", errCorrupt, seq, fmt.Sprintf(format, args...))
	}
	if len(b) < fixedLen+4 {
		return bad("%d bytes, shorter than a header", len(b))
	}
	if string(b[0:4]) != recordMagic {
		return bad("bad magic %q", b[0:4])
	}
	if b[4] != recordVersion {
		return bad("unknown format version %d", b[4])
	}
	kind := Kind(b[5])
	keyLen := int(binary.BigEndian.Uint16(b[6:8]))
	ctLen := int(binary.BigEndian.Uint16(b[8:10]))
	bodyLen := binary.BigEndian.Uint64(b[10:18])
	hdrEnd := fixedLen + keyLen + ctLen
	if len(b) < hdrEnd+4 {
		return bad("truncated header")
	}
	if got, want := crc32.Checksum(b[:hdrEnd], crcTable), binary.BigEndian.Uint32(b[hdrEnd:hdrEnd+4]); got != want {
		return bad("header checksum %08x, want %08x", got, want)
	}
	body := b[hdrEnd+4:]
	if uint64(len(body)) != bodyLen {
		return bad("body of %d bytes, header says %d", len(body), bodyLen)
	}
	if got, want := crc32.Checksum(body, crcTable), binary.BigEndian.Uint32(b[34:38]); got != want {
		return bad("body checksum %08x, want %08x", got, want)
	}
	if s := binary.BigEndian.Uint64(b[18:26]); s != seq {
		return bad("header says seq %d", s)
	}
	op := Op{
		Kind:        kind,
		Key:         string(b[fixedLen : fixedLen+keyLen]),
		ContentType: string(b[fixedLen+keyLen : hdrEnd]),
		Seq:         seq,
		Appended:    time.Unix(0, int64(binary.BigEndian.Uint64(b[26:34]))),
	}
	if len(body) > 0 {
		op.Body = body
	}
	if err := op.validate(); err != nil {
		return bad("%v", err)
	}
	return op, nil
}
