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
}

const (
	coalesceMax   = 64 << 10
	coalesceDelay = 2 * time.Millisecond
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

// SetDeadline and SetWriteDeadline send what was written first: the
// deadline is meant for writes made after it. (crypto/tls sets a write
// deadline of now right after its close_notify alert.)
func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.flush()
	return c.Conn.SetDeadline(t)
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.flush()
	return c.Conn.SetWriteDeadline(t)
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
