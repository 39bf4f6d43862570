package smtpd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener enforces connection limits at accept time, before go-smtp
// sees the connection (it creates sessions only at EHLO), and tags every
// connection with an id for the logs.
type limitListener struct {
	net.Listener
	log      *slog.Logger
	maxTotal int
	maxPerIP int

	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int
}

func newLimitListener(l net.Listener, maxTotal, maxPerIP int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, log: log, maxTotal: maxTotal, maxPerIP: maxPerIP, perIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the limits. Connections over a
// limit get a 421 (RFC 5321 §3.8) and are closed here.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		id := newConnID()
		log := l.log.With("conn_id", id, "remote", ip.String())
		if reason := l.acquire(ip); reason != "" {
			log.Warn("rejected", "reason", reason)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "421 4.7.0 %s, try again later\r\n", reason)
			c.Close()
			continue
		}
		log.Info("connected")
		return &trackedConn{Conn: c, id: id, ip: ip, release: func() { l.release(ip) }, log: log}, nil
	}
}

func (l *limitListener) acquire(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxTotal > 0 && l.total >= l.maxTotal {
		return "Too many connections"
	}
	if l.maxPerIP > 0 && l.perIP[ip] >= l.maxPerIP {
		return "Too many connections from your address"
	}
	l.total++
	l.perIP[ip]++
	return ""
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// trackedConn carries the connection id and frees its limit slot once.
// It outlives go-smtp's sessions (one per EHLO and STARTTLS), so it also
// counts the session's errors.
type trackedConn struct {
	net.Conn
	id      string
	ip      netip.Addr
	log     *slog.Logger
	once    sync.Once
	release func()

	// errors counts refused commands; closeAfterWrite ends the
	// connection once the next reply is written.
	errors          atomic.Int32
	closeAfterWrite atomic.Bool
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.closeAfterWrite.Load() {
		c.Close()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.release()
		c.log.Info("disconnected")
	})
	return c.Conn.Close()
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func newConnID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
