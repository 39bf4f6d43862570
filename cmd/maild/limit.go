package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// connLimiter bounds concurrent connections per client address for the
// IMAP and POP3 listeners (smtpd has its own, which also tags sessions).
// A connection over the limit gets the protocol's goodbye line and is
// closed before the server sees it.
type connLimiter struct {
	net.Listener
	max    int
	reject string
	log    *slog.Logger

	mu    sync.Mutex
	perIP map[netip.Addr]int
}

func newConnLimiter(l net.Listener, max int, reject string, log *slog.Logger) net.Listener {
	if max <= 0 {
		return l
	}
	return &connLimiter{Listener: l, max: max, reject: reject, log: log, perIP: map[netip.Addr]int{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			ip = ap.Addr().Unmap()
		}
		l.mu.Lock()
		over := l.perIP[ip] >= l.max
		if !over {
			l.perIP[ip]++
		}
		l.mu.Unlock()
		if over {
			l.log.Warn("rejected", "remote", ip.String(), "reason", "too many connections")
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(l.reject))
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *connLimiter) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
