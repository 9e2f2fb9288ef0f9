package node

import (
	"io"
	"log/slog"

	"github.com/relaymesh/relaymesh/config"
)

// NewLogger builds the process logger from the log section of the config.
// Components derive their own with .With("component", ...).
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
