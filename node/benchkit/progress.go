package benchkit

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress writes a run's progress lines. Many goroutines print, so a line
// is written whole under a lock. With a nil writer it prints nothing.
type Progress struct {
	mu sync.Mutex
	w  io.Writer
}

// NewProgress returns a Progress writing to w, which may be nil.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

// Printf writes one line.
func (p *Progress) Printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Every calls line every d until ctx ends; line prints with Printf. It
// returns at once with a nil writer: nobody would read the lines.
func (p *Progress) Every(ctx context.Context, d time.Duration, line func()) {
	if p.w == nil {
		return
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A tick and the end can be ready together, and select picks
		// either: the end wins, so no line follows it.
		if ctx.Err() != nil {
			return
		}
		line()
	}
}
