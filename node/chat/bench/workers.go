package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaymesh/relaymesh/node/benchkit"
)

// MaxFansPerWorker is the most fans RunWorkers gives one worker process:
// each fan is a socket, and a process may open at most 20,000 files here
// (the hard limit); the rest is margin for reconnects and the runtime.
const MaxFansPerWorker = 15_000

// WorkersFor is how many worker processes fans need.
func WorkersFor(fans int) int { return max((fans+MaxFansPerWorker-1)/MaxFansPerWorker, 1) }

// FanRange is worker w's share of fans out of n workers: contiguous
// ranges whose sizes differ by at most one, covering 0..fans-1.
func FanRange(fans, w, n int) (from, to int) { return w * fans / n, (w + 1) * fans / n }

// The worker protocol: the parent writes the worker's Config as the first
// line of its stdin, then a start line and (maybe) a stop line; the worker
// writes JSON lines to its stdout: ready, drain statuses, then its result.
// Progress and errors go to its stderr. A worker whose stdin closes (the
// parent went away, or was interrupted) ends its run at once and still
// writes its result.
type parentLine struct {
	Start *Start `json:"start,omitempty"`
	Stop  bool   `json:"stop,omitempty"`
}

type workerLine struct {
	Ready  *Ready       `json:"ready,omitempty"`
	Drain  *DrainStatus `json:"drain,omitempty"`
	Result *Partial     `json:"result,omitempty"`
	Error  string       `json:"error,omitempty"`
}

// workerBound is how long a worker may wait for its start after its ramp,
// and how long past its run's planned end it lives at most: a worker
// always ends by itself.
const workerBound = 60 * time.Second

// ServeWorker is a worker process: it reads its Config from in, runs its
// fans in step with the parent and writes its Partial to out.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer, progress io.Writer) error {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 1<<20), 64<<20)
	if !lines.Scan() {
		return fmt.Errorf("bench worker: no config on stdin: %w", errors.Join(lines.Err(), io.ErrUnexpectedEOF))
	}
	var cfg Config
	if err := json.Unmarshal(lines.Bytes(), &cfg); err != nil {
		return fmt.Errorf("bench worker: bad config: %w", err)
	}
	bound := cfg.Ramp + cfg.Warmup + cfg.Duration + cfg.Drain + 2*workerBound
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()

	s := &pipeSync{out: json.NewEncoder(out), start: make(chan Start, 1)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel() // stdin closed: the parent is gone or interrupted us
		for lines.Scan() {
			var l parentLine
			if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
				continue
			}
			if l.Start != nil {
				select {
				case s.start <- *l.Start:
				default:
				}
			}
			if l.Stop {
				s.stop.Store(true)
			}
		}
	}()
	cfg.Sync, cfg.Progress = s, progress
	part, err := RunPartial(ctx, cfg)
	if part != nil {
		if werr := s.write(workerLine{Result: part}); werr != nil {
			err = errors.Join(err, werr)
		}
	} else if err != nil {
		_ = s.write(workerLine{Error: err.Error()})
	}
	// The reader stops when the parent closes our stdin, which it does
	// once it has our result; the process exits anyway right after.
	select {
	case <-readerDone:
	case <-time.After(5 * time.Second):
	}
	return err
}

// pipeSync is a worker's Sync: lines on stdout, the parent's answers on
// stdin.
type pipeSync struct {
	mu    sync.Mutex
	out   *json.Encoder
	start chan Start
	stop  atomic.Bool
}

func (s *pipeSync) write(l workerLine) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Encode(l)
}

func (s *pipeSync) Ready(ctx context.Context, r Ready) (Start, error) {
	if err := s.write(workerLine{Ready: &r}); err != nil {
		return Start{}, err
	}
	t := time.NewTimer(workerBound)
	defer t.Stop()
	select {
	case st := <-s.start:
		return st, nil
	case <-ctx.Done():
		return Start{}, ctx.Err()
	case <-t.C:
		return Start{}, fmt.Errorf("no start from the parent within %v", workerBound)
	}
}

func (s *pipeSync) Drained(ctx context.Context, st DrainStatus) bool {
	_ = s.write(workerLine{Drain: &st})
	return s.stop.Load()
}

// Workers is how RunWorkers starts its processes.
type Workers struct {
	// N is how many worker processes to run; WorkersFor(cfg.Fans) when 0.
	N int
	// Command returns the command of one worker: this binary's hidden
	// worker mode (which calls ServeWorker). RunWorkers sets its stdin,
	// stdout and stderr.
	Command func() *exec.Cmd
}

type worker struct {
	idx     int
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   *Ready
	drain   DrainStatus
	drained bool // has sent a drain status
	result  *Partial
	err     string
	exited  bool
}

type workerEvent struct {
	w    int
	line *workerLine
	eof  error // the worker's stdout ended (it exited)
}

// RunWorkers runs cfg over several worker processes, each with its slice
// of the fans (FanRange), and merges their partials into one report. The
// workers connect their fans; once every one is ready, all start
// publishing at one time (latency is publish to receipt on one host's
// clock, so across processes too). When ctx ends, the workers are told to
// stop (their stdin closes) and still report; workers that do not exit in
// time are killed, and every worker is killed before RunWorkers returns.
func RunWorkers(ctx context.Context, cfg Config, ws Workers) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Mesh.Nodes) == 0 {
		return nil, errors.New("bench: no nodes to connect fans to")
	}
	if cfg.RoomPrefix == "" {
		cfg.RoomPrefix = randomPrefix()
	}
	n := ws.N
	if n <= 0 {
		n = WorkersFor(cfg.Fans)
	}
	n = min(n, cfg.Fans)
	out := benchkit.NewProgress(cfg.Progress)
	events := make(chan workerEvent, 16*n)
	var readers sync.WaitGroup
	workers := make([]*worker, n)
	// On the way out, whatever happened: close every worker's stdin (it
	// ends its run and exits), give them a few seconds, kill the rest, and
	// reap them all.
	defer func() {
		for _, w := range workers {
			if w != nil {
				_ = w.stdin.Close()
			}
		}
		readersDone := make(chan struct{})
		go func() {
			defer close(readersDone)
			readers.Wait()
		}()
		grace := time.NewTimer(5 * time.Second)
		defer grace.Stop()
	wait:
		for {
			select {
			case <-events: // readers must not block on a full channel
			case <-readersDone:
				break wait
			case <-grace.C:
				for _, w := range workers {
					if w != nil {
						_ = w.cmd.Process.Kill()
					}
				}
			}
		}
		for _, w := range workers {
			if w != nil {
				_ = w.cmd.Wait()
			}
		}
	}()
	for i := range workers {
		wcfg := cfg
		wcfg.FanFrom, wcfg.FanTo = FanRange(cfg.Fans, i, n)
		wcfg.Sync, wcfg.Progress = nil, nil
		spec, err := json.Marshal(wcfg)
		if err != nil {
			return nil, fmt.Errorf("bench: worker config: %w", err)
		}
		cmd := ws.Command()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("bench: worker %d: %w", i, err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("bench: worker %d: %w", i, err)
		}
		cmd.Stderr = &prefixWriter{out: out, prefix: fmt.Sprintf("worker %d: ", i)}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("bench: start worker %d: %w", i, err)
		}
		workers[i] = &worker{idx: i, cmd: cmd, stdin: stdin}
		readers.Add(1)
		go func() {
			defer readers.Done()
			dec := json.NewDecoder(stdout)
			for {
				var l workerLine
				if err := dec.Decode(&l); err != nil {
					events <- workerEvent{w: i, eof: err}
					return
				}
				events <- workerEvent{w: i, line: &l}
			}
		}()
		if _, err := fmt.Fprintf(stdin, "%s\n", spec); err != nil {
			return nil, fmt.Errorf("bench: worker %d: send config: %w", i, err)
		}
		out.Printf("bench: worker %d: fans %d..%d (pid %d)", i, wcfg.FanFrom, wcfg.FanTo-1, cmd.Process.Pid)
	}

	send := func(l parentLine) {
		b, _ := json.Marshal(l)
		for _, w := range workers {
			if !w.exited {
				_, _ = fmt.Fprintf(w.stdin, "%s\n", b)
			}
		}
	}
	interrupt := func() {
		for _, w := range workers {
			_ = w.stdin.Close()
		}
	}
	// Phase deadlines: the ramp, then the run, each with a margin.
	deadline := time.NewTimer(cfg.Ramp + workerBound)
	defer deadline.Stop()
	started, stopped, interrupted := false, false, false
	done := ctx.Done()
	for {
		alive, ready, results := 0, 0, 0
		var connected, pubs int
		for _, w := range workers {
			if !w.exited {
				alive++
			}
			if w.ready != nil {
				ready++
				connected += w.ready.Connected
				pubs += w.ready.Publishers
			}
			if w.result != nil || w.err != "" {
				results++
			}
		}
		if alive == 0 || results == n {
			break
		}
		if !started {
			for _, w := range workers {
				if w.exited && w.ready == nil {
					interrupt()
					return nil, fmt.Errorf("bench: worker %d ended before its ramp did: %s", w.idx, w.err)
				}
			}
		}
		if !started && ready == n {
			if connected == 0 || pubs == 0 {
				interrupt()
				return nil, fmt.Errorf("bench: %d of %d fans and %d of %d publishers connected within the ramp of %v",
					connected, cfg.Fans, pubs, cfg.Publishers, cfg.Ramp)
			}
			roomFans := make([]int, cfg.Rooms)
			for _, w := range workers {
				for room, k := range w.ready.RoomFans {
					if room < len(roomFans) {
						roomFans[room] += k
					}
				}
			}
			// A little ahead, so every worker has the start before it.
			send(parentLine{Start: &Start{At: time.Now().Add(300 * time.Millisecond), RoomFans: roomFans}})
			started = true
			out.Printf("bench: %d workers ready: %d fans connected; publishing", n, connected)
			deadline.Reset(cfg.Warmup + cfg.Duration + cfg.Drain + workerBound)
		}
		select {
		case ev := <-events:
			w := workers[ev.w]
			switch {
			case ev.eof != nil:
				w.exited = true
				if w.result == nil && w.err == "" {
					w.err = fmt.Sprintf("exited without a result (%v)", ev.eof)
				}
			case ev.line.Ready != nil:
				w.ready = ev.line.Ready
			case ev.line.Drain != nil:
				w.drain, w.drained = *ev.line.Drain, true
				if !stopped && allDraining(workers) {
					sts := make([]DrainStatus, 0, n)
					for _, w := range workers {
						sts = append(sts, w.drain)
					}
					if DrainDone(sts) {
						send(parentLine{Stop: true})
						stopped = true
					}
				}
			case ev.line.Result != nil:
				w.result = ev.line.Result
			case ev.line.Error != "":
				w.err = ev.line.Error
			}
		case <-done:
			interrupted, done = true, nil
			interrupt()
			deadline.Reset(20 * time.Second)
		case <-deadline.C:
			interrupt()
			return nil, fmt.Errorf("bench: workers did not finish in time (started %v)", started)
		}
	}
	var parts []*Partial
	var errs []error
	for _, w := range workers {
		if w.result != nil {
			parts = append(parts, w.result)
		} else {
			errs = append(errs, fmt.Errorf("worker %d: %s", w.idx, w.err))
		}
	}
	if len(parts) == 0 {
		if interrupted {
			errs = append(errs, ctx.Err())
		}
		return nil, fmt.Errorf("bench: no worker reported: %w", errors.Join(errs...))
	}
	rep := Merge(cfg, parts)
	if interrupted {
		rep.Interrupted = true
		return rep, fmt.Errorf("bench: interrupted: %w", ctx.Err())
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("bench: the report lacks %d workers: %w", len(errs), errors.Join(errs...))
	}
	return rep, nil
}

// allDraining reports whether every worker has sent a drain status.
func allDraining(ws []*worker) bool {
	for _, w := range ws {
		if !w.drained && !w.exited {
			return false
		}
	}
	return true
}

// prefixWriter writes a worker's stderr line by line to the parent's
// progress, each line prefixed.
type prefixWriter struct {
	out    *benchkit.Progress
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.out.Printf("%s%s", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
