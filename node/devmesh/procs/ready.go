package procs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// readyPoll is how often waitReady asks the nodes again.
const readyPoll = 200 * time.Millisecond

// waitReady polls the nodes cs until each one's /readyz answers 200 and
// its /v1/mesh lists every node of cs alive, until ctx ends, or until a
// node process exits. The error names the nodes that were not ready and
// why.
func (m *Mesh) waitReady(ctx context.Context, cs []*child) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		var waiting []string
		for _, c := range cs {
			if why := notReady(ctx, client, c, len(cs)); why != "" {
				waiting = append(waiting, c.name+": "+why)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-t.C:
		case <-m.died:
			return m.diedErr
		case <-ctx.Done():
			return fmt.Errorf("procs: mesh not ready: %w (%s)", context.Cause(ctx), strings.Join(waiting, "; "))
		}
	}
}

// notReady says why node c is not ready in a mesh of n nodes, or "".
func notReady(ctx context.Context, client *http.Client, c *child, n int) string {
	var ready struct{ Reason string }
	if code, err := getJSON(ctx, client, "http://"+c.http+"/readyz", &ready); err != nil {
		return err.Error()
	} else if code != http.StatusOK {
		return "readyz: " + ready.Reason
	}
	var view struct {
		Members []struct{ Name, State string }
	}
	if _, err := getJSON(ctx, client, "http://"+c.http+"/v1/mesh", &view); err != nil {
		return err.Error()
	}
	alive := 0
	for _, mb := range view.Members {
		if mb.State == "alive" {
			alive++
		}
	}
	if alive < n {
		return fmt.Sprintf("sees %d of %d nodes alive", alive, n)
	}
	return ""
}

// getJSON GETs url and decodes its JSON body into v, whatever the status.
func getJSON(ctx context.Context, client *http.Client, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: %w", url, err)
	}
	return resp.StatusCode, nil
}
