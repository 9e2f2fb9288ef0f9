package hls

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzLimitRanges: whatever Range a player sends, limitRanges does not
// panic, and the answer ServeContent then writes is never much larger than
// the body: at most the body and maxRanges part headers.
func FuzzLimitRanges(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=0-0,2-2", "bytes=0-,-1", "bytes=-5", "bytes=0-1,,x",
		"bytes=0-0,1-1,2-2,3-3,4-4", "bytes=5-2,0-1", "bytes= 1 - 2 , 4-", "items=0-1"} {
		f.Add(s, uint16(100))
	}
	f.Fuzz(func(t *testing.T, rng string, size uint16) {
		body := bytes.Repeat([]byte("x"), int(size))
		r := httptest.NewRequest("GET", "/hls/live/seg.ts", nil)
		r.Header.Set("Range", rng)
		limitRanges(r, int64(len(body)))
		w := httptest.NewRecorder()
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		if n := w.Body.Len(); n > len(body)+maxRanges*200 {
			t.Fatalf("Range %q of %d bytes: %d bytes answered", rng, len(body), n)
		}
	})
}
