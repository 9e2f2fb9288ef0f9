package ingest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestUnknownStreamIsAWrongKey: a push to a stream that is not configured
// gets the very answer a wrong key gets, so that pushing does not tell
// which stream names exist (it was 404 unknown_stream); and every error
// body is JSON.
func TestUnknownStreamIsAWrongKey(t *testing.T) {
	f := newFixture(t, t.TempDir())
	wrongCode, wrongBody := f.push(t, "PUT", "/ingest/live/seg1.ts", "wrong-key-wrong-key", "x")
	for _, p := range []string{"/ingest/other/seg1.ts", "/ingest/nostream/index.m3u8"} {
		for _, bearer := range []string{key, "wrong-key-wrong-key"} {
			code, body := f.push(t, "PUT", p, bearer, "x")
			if code != wrongCode || body != wrongBody {
				t.Errorf("PUT %s: %d %s; a wrong key for a configured stream: %d %s", p, code, body, wrongCode, wrongBody)
			}
		}
	}
	if wrongCode != http.StatusForbidden {
		t.Errorf("wrong key: %d, want 403", wrongCode)
	}
	for _, p := range []string{"/ingest/live/\U00050000.sh", "/ingest/live/..%2f\U00050000.ts"} {
		code, body := f.push(t, "PUT", p, key, "x")
		var e struct{ Error, Message string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
			t.Errorf("PUT %s: %d, body %q is not a JSON error: %v", p, code, body, err)
		}
	}
}
