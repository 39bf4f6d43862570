package imapd

import (
	"net"
	"sync"
	"time"
)

// go-imap flushes its writer after every response line, so FETCH 1:* of
// a 10,000-message mailbox costs 10,000 write system calls (and, under
// TLS, 10,000 records). coalescingConn sits under the library (and under
// TLS) and gathers those writes: they reach the socket when the server
// next reads from the client, which it does after every command and
// every continuation request, when 64 KiB have gathered, or at the
// latest coalesceDelay after the first buffered write (IDLE updates,
// which are written while the reader is already waiting).
type coalescingConn struct {
	net.Conn

	mu    sync.Mutex
	buf   *[]byte // from bufPool while holding data; nil when empty
	err   error   // the first failed flush; later writes fail with it
	timer *time.Timer
	// deadline is the write deadline last set through the conn.
	deadline time.Time
}

const (
	coalesceMax   = 64 << 10
	coalesceDelay = 2 * time.Millisecond
	// flushTimeout bounds one flush, as go-imap bounds one response.
	flushTimeout = 30 * time.Second
)

// bufPool holds the write buffers, so idle connections keep none.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, coalesceMax)
	return &b
}}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.buf != nil && len(*c.buf)+len(p) > coalesceMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) >= coalesceMax {
		c.Conn.SetWriteDeadline(c.writeDeadline())
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = bufPool.Get().(*[]byte)
		if c.timer == nil {
			c.timer = time.AfterFunc(coalesceDelay, c.timedFlush)
		} else {
			c.timer.Reset(coalesceDelay)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// Read sends what was written before waiting for the client.
func (c *coalescingConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// go-imap sets a write deadline around every response; it is applied
// when the bytes reach the socket (see writeDeadline). A deadline that
// has already passed (crypto/tls sets "now" right after its close_notify
// alert) means "no more writes": what was written before it is sent
// first.
func (c *coalescingConn) SetDeadline(t time.Time) error {
	if err := c.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.IsZero() && !t.After(time.Now()) {
		c.flushLocked()
		c.deadline = t
		return c.Conn.SetWriteDeadline(t)
	}
	// Applied when bytes are actually written (go-imap sets one around
	// every response line; the socket needs it once per flush).
	c.deadline = t
	return nil
}

// writeDeadline is the deadline for a write to the socket now: the one
// last set, but no further than flushTimeout away, so a client that
// stops reading cannot hold the session forever. The caller holds c.mu.
func (c *coalescingConn) writeDeadline() time.Time {
	limit := time.Now().Add(flushTimeout)
	if c.deadline.IsZero() || c.deadline.After(limit) {
		return limit
	}
	return c.deadline
}

func (c *coalescingConn) Close() error {
	c.flush()
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *coalescingConn) timedFlush() { c.flush() }

func (c *coalescingConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *coalescingConn) flushLocked() error {
	if c.buf == nil {
		return c.err
	}
	b := c.buf
	c.buf = nil
	c.Conn.SetWriteDeadline(c.writeDeadline())
	_, err := c.Conn.Write(*b)
	*b = (*b)[:0]
	bufPool.Put(b)
	if err != nil && c.err == nil {
		c.err = err
	}
	return c.err
}

// coalescingListener wraps every accepted connection in a coalescingConn.
type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c}, nil
}
