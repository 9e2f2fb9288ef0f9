package wan

import "time"

// run is the scheduler goroutine: it sleeps on one timer until the earliest
// queued datagram is due, sends everything due, and repeats. WriteTo nudges it
// through c.wake when a new datagram becomes the earliest. It exits when
// c.done is closed and signals that by closing c.exited.
func (c *Conn) run() {
	defer close(c.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var batch []*packet
	for {
		select {
		case <-c.done:
			return
		default:
		}

		c.mu.Lock()
		now := time.Now()
		for p := c.queue.peek(); p != nil && !p.at.After(now); p = c.queue.peek() {
			batch = append(batch, c.queue.pop())
		}
		next := c.queue.peek()
		var wait time.Duration
		if next != nil {
			wait = next.at.Sub(now)
		}
		c.mu.Unlock()

		if len(batch) > 0 {
			c.send(batch)
			clear(batch)
			batch = batch[:0]
			continue // sending took time; look again before sleeping
		}

		// Since Go 1.23, Reset and Stop leave no stale tick in timer.C.
		if next != nil {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

// send writes a batch of due datagrams outside the lock, then releases their
// queue accounting. A destination stays in c.dests until its datagrams have
// actually been written, so an undelayed WriteTo to it cannot overtake them.
func (c *Conn) send(batch []*packet) {
	for _, p := range batch {
		if _, err := c.pc.WriteTo(*p.buf, p.addr); err != nil && !c.closing() {
			c.dropped.Add(1)
		}
	}
	c.mu.Lock()
	for _, p := range batch {
		c.queuedBytes -= len(*p.buf)
		if ds := c.dests[p.dst]; ds != nil {
			ds.inflight--
			if ds.inflight == 0 {
				delete(c.dests, p.dst)
			}
		}
	}
	c.mu.Unlock()
	for _, p := range batch {
		recycle(p)
	}
}

// discardQueue drops everything still queued; Close calls it after the
// scheduler has exited, so nothing else touches the queue any more.
func (c *Conn) discardQueue() {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.queuedBytes = 0
	clear(c.dests)
	c.mu.Unlock()
	for _, p := range q {
		recycle(p)
	}
}

func recycle(p *packet) {
	releasePayload(p.buf)
	*p = packet{}
	packetPool.Put(p)
}

// closing reports whether Close has begun; writes failing after that are
// shutdown noise, not drops.
func (c *Conn) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// queued reports how many datagrams wait in the queue (tests, benchmarks).
func (c *Conn) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}
