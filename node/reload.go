package node

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/relaymesh/relaymesh/config"
)

// Reload applies what can change while the node runs: the ingest stream
// keys (and with them the streams HLS fills for players) and the limits (connection caps and Retry-After, the upload rate
// and the playlist cap). cfg must be valid; a config that is not changes
// nothing. Reload returns the sections whose other changes (against the
// config the node started with) need a restart to take effect; they are
// not applied.
func (n *Node) Reload(cfg config.Config) (needRestart []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := n.httpLn.SetLimits(connLimits(cfg.HTTP)); err != nil {
		return nil, fmt.Errorf("node: reload: %w", err)
	}
	if err := n.ingest.SetLimits(ingestLimits(cfg)); err != nil {
		return nil, fmt.Errorf("node: reload: %w", err)
	}
	// The configured streams are the ones HLS may fill for players.
	n.hls.SetStreams(slices.Sorted(maps.Keys(cfg.Ingest.StreamKeys)))
	old, next := withoutReloadable(n.cfg), withoutReloadable(cfg)
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(next)
	for i := range ov.NumField() {
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			needRestart = append(needRestart, ov.Type().Field(i).Tag.Get("yaml"))
		}
	}
	n.log.Info("config reloaded", "stream_keys", len(cfg.Ingest.StreamKeys),
		"max_conns_per_ip", cfg.HTTP.MaxConnsPerIP, "max_conns", n.httpLn.Limits().PerNode,
		"not_applied_until_restart", needRestart)
	return needRestart, nil
}

// withoutReloadable blanks the fields Reload applies, leaving what needs a
// restart.
func withoutReloadable(c config.Config) config.Config {
	c.Ingest.StreamKeys = nil
	c.Ingest.MinUploadRate, c.Ingest.UploadRateWindow, c.Ingest.MaxPlaylist = 0, 0, 0
	c.HTTP.MaxConnsPerIP, c.HTTP.MaxConns, c.HTTP.RetryAfter = 0, 0, 0
	return c
}
