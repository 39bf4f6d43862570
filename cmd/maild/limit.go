package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"yubin/storage"
)

// connLimiter bounds concurrent connections in total and per client
// (storage.ClientKey: an IPv4 address or an IPv6 /64) for the IMAP
// listeners; one limiter wraps all of them, so the limits hold over 143
// and 993 together (smtpd has its own, which also tags sessions). A
// connection over a limit gets the protocol's goodbye line and is closed
// before the server sees it.
type connLimiter struct {
	maxTotal, maxPerIP int
	// reject formats the goodbye line for a reason ("Too many
	// connections").
	reject func(reason string) string
	log    *slog.Logger

	mu    sync.Mutex
	total int
	perIP map[string]int
}

func newConnLimiter(maxTotal, maxPerIP int, reject func(string) string, log *slog.Logger) *connLimiter {
	return &connLimiter{maxTotal: maxTotal, maxPerIP: maxPerIP, reject: reject, log: log, perIP: map[string]int{}}
}

// Wrap returns inner with its connections counted by the limiter. On an
// implicit-TLS listener (tls) a refused connection is closed without the
// goodbye line: the client expects a TLS handshake and could not read it,
// and a handshake per refused connection would cost more than the refusal.
func (l *connLimiter) Wrap(inner net.Listener, tls bool) net.Listener {
	return &limitedListener{Listener: inner, l: l, tls: tls}
}

// acquire takes a slot for key, or returns why not.
func (l *connLimiter) acquire(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.maxTotal > 0 && l.total >= l.maxTotal:
		return "Too many connections"
	case l.maxPerIP > 0 && l.perIP[key] >= l.maxPerIP:
		return "Too many connections from your address"
	}
	l.total++
	l.perIP[key]++
	return ""
}

func (l *connLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[key]--; l.perIP[key] <= 0 {
		delete(l.perIP, key)
	}
}

type limitedListener struct {
	net.Listener
	l   *connLimiter
	tls bool
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			ip = ap.Addr().Unmap()
		}
		key := storage.ClientKey(ip)
		if reason := ll.l.acquire(key); reason != "" {
			ll.l.log.Warn("rejected", "remote", ip.String(), "reason", reason)
			if !ll.tls {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte(ll.l.reject(reason)))
			}
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { ll.l.release(key) }}, nil
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
