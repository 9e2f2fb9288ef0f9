package spool

import (
	"bytes"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// encodeRecord lays out a whole record, as Append writes it.
func encodeRecord(op Op, seq uint64, appended time.Time) []byte {
	body := []byte(bodyString(op))
	return append(encodeHeader(op, int64(len(body)), crc32.Checksum(body, crcTable), seq, appended), body...)
}

func decodeBytes(b []byte, seq uint64) (Op, error) {
	return decodeRecord(bytes.NewReader(b), int64(len(b)), seq)
}

func TestRecordRoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	for _, op := range []Op{
		Put("s/index.m3u8", "application/vnd.apple.mpegurl", []byte("#EXTM3U\n")),
		Put("s/seg0.ts", "", nil),
		Delete("s/seg0.ts"),
		Put(strings.Repeat("k", MaxKeyLen), strings.Repeat("c", MaxContentTypeLen), []byte{0, 1, 2}),
	} {
		b := encodeRecord(op, 42, at)
		if int64(len(b)) != headerLen(op)+op.Size {
			t.Fatalf("%v: encoded %d bytes, headerLen says %d", op, len(b), headerLen(op))
		}
		got, err := decodeBytes(b, 42)
		if err != nil {
			t.Fatalf("%v: %v", op, err)
		}
		if got.Kind != op.Kind || got.Key != op.Key || got.ContentType != op.ContentType ||
			bodyString(got) != bodyString(op) || got.Seq != 42 || !got.Appended.Equal(at) {
			t.Fatalf("round trip: got %+v, want %+v", got, op)
		}
	}
}

func TestRecordCorruption(t *testing.T) {
	op := Put("s/seg1.ts", "video/mp2t", []byte("segment payload"))
	good := encodeRecord(op, 7, time.Now())
	// Every truncation and every single flipped bit is caught.
	for n := 0; n < len(good); n++ {
		if _, err := decodeBytes(good[:n], 7); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d bytes: err %v, want errCorrupt", n, err)
		}
	}
	for i := range good {
		for bit := range 8 {
			b := append([]byte(nil), good...)
			b[i] ^= 1 << bit
			if _, err := decodeBytes(b, 7); !errors.Is(err, errCorrupt) {
				t.Fatalf("bit %d of byte %d flipped: err %v, want errCorrupt", bit, i, err)
			}
		}
	}
	if _, err := decodeBytes(append(good, 0), 7); !errors.Is(err, errCorrupt) {
		t.Fatalf("trailing byte: err %v, want errCorrupt", err)
	}
	if _, err := decodeBytes(good, 8); !errors.Is(err, errCorrupt) {
		t.Fatalf("file renamed to another seq: err %v, want errCorrupt", err)
	}
}

func TestRecordName(t *testing.T) {
	for _, seq := range []uint64{0, 1, 42, 1<<64 - 1} {
		got, ok := parseRecordName(recordName(seq))
		if !ok || got != seq {
			t.Fatalf("parseRecordName(recordName(%d)) = %d, %v", seq, got, ok)
		}
	}
	if recordName(9) > recordName(10) {
		t.Fatal("names do not sort by seq")
	}
	for _, name := range []string{"", "1.op", "00000000000000000001.op.tmp", "0000000000000000000x.op",
		"99999999999999999999.op", "00000000000000000001.txt"} {
		if _, ok := parseRecordName(name); ok {
			t.Errorf("parseRecordName(%q) accepted", name)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for attempt := range 100 {
		want := min(lo<<min(attempt, 30), hi)
		for range 20 {
			d := backoff(lo, hi, attempt)
			if d > want || d < want/2 {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := backoff(time.Second, 1<<62, 200); d > 1<<62 || d < 1<<61 {
		t.Fatalf("huge max: %v", d)
	}
}
