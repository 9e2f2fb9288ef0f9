package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// fillsMetric counts where a node's cache misses were filled from, by
// source (origin, peer, ...) and kind (segment, playlist).
const fillsMetric = "relaymesh_hls_fills_total"

// fills is one scrape of one node's fill counter.
type fills struct {
	segment  float64 // kind="segment", source="origin"
	playlist float64 // kind="playlist", source="origin"
	origin   float64 // source="origin", any kind
	byKind   bool    // some series has a kind label
}

// originFills scrapes GET /metrics of every node at once. A failed
// scrape is an error for that node only.
func originFills(ctx context.Context, client *http.Client, nodes []benchkit.Node) ([]fills, []error) {
	out, errs := make([]fills, len(nodes)), make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = scrapeFills(ctx, client, n.URL)
		}()
	}
	wg.Wait()
	return out, errs
}

func scrapeFills(ctx context.Context, client *http.Client, base string) (fills, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fills{}, fmt.Errorf("scrape %s: %w", u, err)
	}
	// The classic text format: the one parseFills reads.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return fills{}, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fills{}, fmt.Errorf("scrape %s: %s", u, resp.Status)
	}
	f, err := parseFills(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fills{}, fmt.Errorf("scrape %s: %w", u, err)
	}
	return f, nil
}

// parseFills sums fillsMetric's origin series out of a Prometheus text
// exposition. It is a small line parser rather than expfmt: go.mod has
// prometheus/common only indirectly, and one counter needs a name, a label
// set (any order, quoted values with escapes) and a value.
func parseFills(r io.Reader) (fills, error) {
	var f fills
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, fillsMetric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ' && rest[0] != '\t') {
			continue // a comment, another metric, or a longer name
		}
		labels, value, err := parseSample(rest)
		if err != nil {
			return fills{}, fmt.Errorf("%s: %q: %w", fillsMetric, line, err)
		}
		kind, hasKind := labels["kind"]
		f.byKind = f.byKind || hasKind
		if labels["source"] != "origin" {
			continue
		}
		f.origin += value
		switch kind {
		case "segment":
			f.segment += value
		case "playlist":
			f.playlist += value
		}
	}
	if err := sc.Err(); err != nil {
		return fills{}, err
	}
	return f, nil
}

// parseSample reads `{a="x",b="y"} value [timestamp]` (labels optional).
func parseSample(s string) (map[string]string, float64, error) {
	labels := map[string]string{}
	s = strings.TrimLeft(s, " \t")
	if strings.HasPrefix(s, "{") {
		s = s[1:]
		for {
			s = strings.TrimLeft(s, " \t,")
			if strings.HasPrefix(s, "}") {
				s = s[1:]
				break
			}
			name, rest, ok := strings.Cut(s, "=")
			if !ok {
				return nil, 0, errors.New("label without a value")
			}
			val, rest, err := unquote(strings.TrimLeft(rest, " \t"))
			if err != nil {
				return nil, 0, err
			}
			labels[strings.TrimSpace(name)] = val
			s = rest
		}
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, 0, errors.New("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return nil, 0, fmt.Errorf("bad value: %w", err)
	}
	return labels, v, nil
}

// unquote reads a quoted label value at the start of s (escapes \\, \"
// and \n) and returns it with the rest of s.
func unquote(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", errors.New("label value not quoted")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated label value")
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated label value")
}
