package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
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
// a crash leaves at worst a temp file behind, never a half-written op. The
// body is streamed into the temp file as it arrives, behind a placeholder
// header; the header (with the sequence number, assigned only once the body
// is complete, so a slow upload never holds up the queue) is written last.
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

// headerLen is the length of op's record up to its body.
func headerLen(op Op) int64 {
	return int64(fixedLen + len(op.Key) + len(op.ContentType) + 4)
}

// encodeHeader lays out op's record up to its body, as described above,
// for a body of bodyLen bytes with checksum bodyCRC. op must be valid.
func encodeHeader(op Op, bodyLen int64, bodyCRC uint32, seq uint64, appended time.Time) []byte {
	b := make([]byte, 0, headerLen(op))
	b = append(b, recordMagic...)
	b = append(b, recordVersion, byte(op.Kind))
	b = binary.BigEndian.AppendUint16(b, uint16(len(op.Key)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(op.ContentType)))
	b = binary.BigEndian.AppendUint64(b, uint64(bodyLen))
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(appended.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, bodyCRC)
	b = append(b, op.Key...)
	b = append(b, op.ContentType...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeRecord parses and verifies the record of seq in r, size bytes
// long. The body is checked by streaming it through its checksum, never
// held in memory; the op returned reads it from r (Body an
// *io.SectionReader). Every error wraps errCorrupt, except read errors of r.
func decodeRecord(r io.ReaderAt, size int64, seq uint64) (Op, error) {
	bad := func(format string, args ...any) (Op, error) {
		return Op{}, fmt.Errorf("%w: seq %d: %s", errCorrupt, seq, fmt.Sprintf(format, args...))
	}
	if size < fixedLen+4 {
		return bad("%d bytes, shorter than a header", size)
	}
	fixed := make([]byte, fixedLen)
	if _, err := r.ReadAt(fixed, 0); err != nil {
		return Op{}, fmt.Errorf("spool: seq %d: %w", seq, err)
	}
	if string(fixed[0:4]) != recordMagic {
		return bad("bad magic %q", fixed[0:4])
	}
	if fixed[4] != recordVersion {
		return bad("unknown format version %d", fixed[4])
	}
	kind := Kind(fixed[5])
	keyLen := int64(binary.BigEndian.Uint16(fixed[6:8]))
	ctLen := int64(binary.BigEndian.Uint16(fixed[8:10]))
	bodyLen := binary.BigEndian.Uint64(fixed[10:18])
	hdrEnd := fixedLen + keyLen + ctLen
	if size < hdrEnd+4 {
		return bad("truncated header")
	}
	hdr := make([]byte, hdrEnd+4)
	if _, err := r.ReadAt(hdr, 0); err != nil {
		return Op{}, fmt.Errorf("spool: seq %d: %w", seq, err)
	}
	if got, want := crc32.Checksum(hdr[:hdrEnd], crcTable), binary.BigEndian.Uint32(hdr[hdrEnd:]); got != want {
		return bad("header checksum %08x, want %08x", got, want)
	}
	if uint64(size-hdrEnd-4) != bodyLen {
		return bad("body of %d bytes, header says %d", size-hdrEnd-4, bodyLen)
	}
	body := io.NewSectionReader(r, hdrEnd+4, int64(bodyLen))
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, body); err != nil {
		return Op{}, fmt.Errorf("spool: seq %d: %w", seq, err)
	}
	if got, want := h.Sum32(), binary.BigEndian.Uint32(fixed[34:38]); got != want {
		return bad("body checksum %08x, want %08x", got, want)
	}
	if s := binary.BigEndian.Uint64(fixed[18:26]); s != seq {
		return bad("header says seq %d", s)
	}
	op := Op{
		Kind:        kind,
		Key:         string(hdr[fixedLen : fixedLen+keyLen]),
		ContentType: string(hdr[fixedLen+keyLen : hdrEnd]),
		Seq:         seq,
		Appended:    time.Unix(0, int64(binary.BigEndian.Uint64(fixed[26:34]))),
	}
	if kind == KindPut {
		op.Body, op.Size = io.NewSectionReader(r, hdrEnd+4, int64(bodyLen)), int64(bodyLen)
	} else if bodyLen != 0 {
		return bad("%s with a body", kind)
	}
	if err := op.validate(); err != nil {
		return bad("%v", err)
	}
	return op, nil
}

// readRecordFile opens the op file at path and verifies it as the record of
// seq. On success the op's Body reads from the returned file, which the
// caller closes; on error the file is closed and nil. A missing file is
// corrupt: someone removed it behind the spool's back, and it can never be
// applied.
func readRecordFile(path string, seq uint64) (op Op, size int64, f *os.File, err error) {
	f, err = os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Op{}, 0, nil, fmt.Errorf("%w: seq %d: file is gone", errCorrupt, seq)
	}
	if err != nil {
		return Op{}, 0, nil, fmt.Errorf("spool: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close() // read-only; the error is reported
			f = nil
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return Op{}, 0, nil, fmt.Errorf("spool: %w", err)
	}
	op, err = decodeRecord(f, fi.Size(), seq)
	return op, fi.Size(), f, err
}
