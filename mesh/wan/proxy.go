package wan

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Proxy is a TCP proxy that holds every byte for a fixed one-way latency
// in each direction: what a node in one region sees of a TCP service (the
// S3 origin) in another. Conn covers the mesh's own UDP traffic; the
// origin is reached over HTTP, so the dev mesh puts one Proxy per region
// in front of it.
//
// Only data is delayed, not the TCP handshake: a request on a kept-alive
// connection costs one round trip, a new connection no more, which flatters
// new connections by one round trip (minio-go keeps its connections).
type Proxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open client and target connections
}

// StartProxy listens on listen (host:port, port 0 for any) and forwards
// every connection to target, each direction delayed by oneWay.
func StartProxy(listen, target string, oneWay time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{ln: ln, target: target, delay: oneWay, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines. Idempotent.
func (p *Proxy) Close() error {
	p.cancel()
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// track registers c so that Close can close it; false once closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	if !p.track(client) {
		_ = client.Close()
		return
	}
	defer p.untrack(client)
	var d net.Dialer
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		return // the client sees the connection close, as with a refused one
	}
	if !p.track(server) {
		_ = server.Close()
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
}

// chunk is data read at a time, due for writing delay later.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each read held until it is p.delay old. A
// reader goroutine stamps chunks as they arrive, so that waiting to write
// one does not hold up reading the next (the delay is latency, not a
// bandwidth limit). When src ends, dst's write side is closed after the
// last chunk (or dst, when it cannot half-close); when dst fails, src is
// closed so that the reader stops.
func (p *Proxy) pipe(dst, src net.Conn) {
	chunks := make(chan chunk, 256)
	stop := make(chan struct{}) // the writer gave up: the reader must not block
	done := make(chan struct{})
	go func() { // owned by pipe, which waits on done before returning
		defer close(done)
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case chunks <- chunk{buf[:n], time.Now().Add(p.delay)}:
				case <-stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	if p.write(dst, chunks) {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	} else {
		close(stop)
		_ = src.Close()
	}
	<-done
}

// write writes the chunks to dst when they are due; false when dst failed
// or the proxy is closing before src ended.
func (p *Proxy) write(dst net.Conn, chunks <-chan chunk) bool {
	for c := range chunks {
		if wait := time.Until(c.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				return false
			}
		}
		if _, err := dst.Write(c.data); err != nil {
			return false
		}
	}
	return true
}
