package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAssetsAreTransportStreams checks what needs no tools: every asset is
// whole 188-byte MPEG-TS packets, each starting with the sync byte.
func TestAssetsAreTransportStreams(t *testing.T) {
	total := 0
	for i := range uint64(Segments) {
		b := Asset(i)
		total += len(b)
		if len(b)%188 != 0 {
			t.Errorf("asset %d: %d bytes, not whole 188-byte TS packets", i, len(b))
			continue
		}
		for off := 0; off < len(b); off += 188 {
			if b[off] != 0x47 {
				t.Errorf("asset %d: packet at byte %d starts with %#x, not the sync byte 0x47", i, off, b[off])
				break
			}
		}
	}
	if &Asset(3)[0] != &Asset(13)[0] {
		t.Error("Asset(13) is not the loop's segment 3")
	}
	// The repo carries them: a few hundred KB at most.
	if total > 500<<10 {
		t.Errorf("assets total %d bytes, more than 500 KB", total)
	}
	t.Logf("%d assets, %d bytes in all", Segments, total)
}

// TestAssetsDecode decodes every embedded segment with the real ffprobe:
// H.264 baseline 426x240 at 24 fps, 24 frames starting with a key frame,
// and mono AAC, without a decoding error.
func TestAssetsDecode(t *testing.T) {
	if os.Getenv("RELAYMESH_E2E") != "1" {
		t.Skip("end-to-end test with the real ffprobe: set RELAYMESH_E2E=1 to run it (.ci/ffmpeg.sh installs ffmpeg)")
	}
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatalf("RELAYMESH_E2E=1 but ffprobe is not on PATH (run .ci/ffmpeg.sh): %v", err)
	}
	dir := t.TempDir()
	for i := range uint64(Segments) {
		t.Run(fmt.Sprintf("seg%03d", i), func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("seg%03d.ts", i))
			if err := os.WriteFile(file, Asset(i), 0o644); err != nil {
				t.Fatal(err)
			}
			var probe struct {
				Streams []struct {
					CodecType    string `json:"codec_type"`
					CodecName    string `json:"codec_name"`
					Profile      string `json:"profile"`
					Width        int    `json:"width"`
					Height       int    `json:"height"`
					FrameRate    string `json:"r_frame_rate"`
					SampleRate   string `json:"sample_rate"`
					Channels     int    `json:"channels"`
					NbReadFrames string `json:"nb_read_frames"`
				} `json:"streams"`
				Frames []struct {
					KeyFrame int `json:"key_frame"`
				} `json:"frames"`
			}
			// -count_frames decodes the whole file; -v error makes any
			// decoding problem an output on stderr.
			out := run(t, ffprobe, "-v", "error", "-count_frames",
				"-show_entries", "stream=codec_type,codec_name,profile,width,height,r_frame_rate,sample_rate,channels,nb_read_frames",
				"-of", "json", file)
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatalf("ffprobe output: %v\n%s", err, out)
			}
			var video, audio bool
			for _, s := range probe.Streams {
				switch s.CodecType {
				case "video":
					video = true
					if s.CodecName != "h264" || s.Profile != "Constrained Baseline" || s.Width != 426 || s.Height != 240 ||
						s.FrameRate != "24/1" || s.NbReadFrames != "24" {
						t.Errorf("video stream %+v, want h264 Constrained Baseline 426x240 24/1 with 24 frames", s)
					}
				case "audio":
					audio = true
					if s.CodecName != "aac" || s.Channels != 1 || s.SampleRate != "48000" {
						t.Errorf("audio stream %+v, want aac mono 48000 Hz", s)
					}
				default:
					t.Errorf("unexpected stream %+v", s)
				}
			}
			if !video || !audio {
				t.Fatalf("streams %+v: want one video and one audio", probe.Streams)
			}
			// The first video frame is a key frame: a player can start here.
			out = run(t, ffprobe, "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
				"-show_entries", "frame=key_frame", "-of", "json", file)
			if err := json.Unmarshal(out, &probe); err != nil {
				t.Fatalf("ffprobe output: %v\n%s", err, out)
			}
			if len(probe.Frames) == 0 || probe.Frames[0].KeyFrame != 1 {
				t.Errorf("first video frame is not a key frame: %s", out)
			}
		})
	}
}

// TestLoopPlaysThroughWrap plays what a Publisher uploaded, across the
// loop's wrap (segment 10, where the timestamps restart): the real
// ffprobe follows the playlist and decodes every frame of all 16 segments
// without an error.
func TestLoopPlaysThroughWrap(t *testing.T) {
	if os.Getenv("RELAYMESH_E2E") != "1" {
		t.Skip("end-to-end test with the real ffprobe: set RELAYMESH_E2E=1 to run it (.ci/ffmpeg.sh installs ffmpeg)")
	}
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatalf("RELAYMESH_E2E=1 but ffprobe is not on PATH (run .ci/ffmpeg.sh): %v", err)
	}
	s := newMemStore()
	cfg := testConfig()
	cfg.Window = 16 // the first tick publishes segments 0..15
	p, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, p)
	waitNewest(t, s, p.PlaylistKey(), 15)
	stop()

	// The live playlist, closed so the player stops at its end.
	dir := t.TempDir()
	_, objs := s.snapshot()
	pl := string(objs[p.PlaylistKey()].data)
	segs := parse(t, pl).segs
	// The publisher may have ticked once more before it stopped, sliding
	// the window; with 16 segments in it, the wrap at seg10 stays inside.
	if !strings.Contains(pl, "#EXT-X-DISCONTINUITY\n") {
		t.Fatalf("playlist has no wrap:\n%s", pl)
	}
	for _, n := range segs {
		if err := os.WriteFile(filepath.Join(dir, SegmentName(n)), objs["demo/"+SegmentName(n)].data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	index := filepath.Join(dir, PlaylistName)
	if err := os.WriteFile(index, []byte(pl+"#EXT-X-ENDLIST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, ffprobe, "-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames",
		"-of", "json", index)
	var probe struct {
		Streams []struct {
			CodecType    string `json:"codec_type"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	want := fmt.Sprint(len(segs) * 24)
	for _, st := range probe.Streams {
		if st.CodecType == "video" {
			if st.NbReadFrames != want {
				t.Errorf("decoded %s video frames from %d segments, want %s", st.NbReadFrames, len(segs), want)
			}
			return
		}
	}
	t.Fatalf("no video stream in the played playlist: %s", out)
}

// run runs a command and returns its stdout; a failure or anything on
// stderr fails the test.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
	}
	return out
}
