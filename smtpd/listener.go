package smtpd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"yubin/storage"
)

// Limits counts the connections of one or more Servers: every listener
// served with the same Limits shares its total and its per-client counts,
// so a client cannot multiply its allowance by using several ports
// (587 and 465) or addresses of one IPv6 /64 (see storage.ClientKey).
type Limits struct {
	maxTotal, maxPerIP int

	mu    sync.Mutex
	total int
	perIP map[string]int
}

// NewLimits returns Limits allowing maxTotal connections in total and
// maxPerIP from one client (storage.ClientKey); zero or less means no
// limit.
func NewLimits(maxTotal, maxPerIP int) *Limits {
	return &Limits{maxTotal: maxTotal, maxPerIP: maxPerIP, perIP: map[string]int{}}
}

// acquire takes a slot for ip, or returns why not.
func (l *Limits) acquire(ip netip.Addr) string {
	k := storage.ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxTotal > 0 && l.total >= l.maxTotal {
		return "Too many connections"
	}
	if l.maxPerIP > 0 && l.perIP[k] >= l.maxPerIP {
		return "Too many connections from your address"
	}
	l.total++
	l.perIP[k]++
	return ""
}

func (l *Limits) release(ip netip.Addr) {
	k := storage.ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[k]--; l.perIP[k] <= 0 {
		delete(l.perIP, k)
	}
}

// limitListener enforces connection limits at accept time, before go-smtp
// sees the connection (it creates sessions only at EHLO), and tags every
// connection with an id for the logs.
type limitListener struct {
	net.Listener
	log        *slog.Logger
	limits     *Limits
	maxNonMail int
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
		if reason := l.limits.acquire(ip); reason != "" {
			log.Warn("rejected", "reason", reason)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "421 4.7.0 %s, try again later\r\n", reason)
			c.Close()
			continue
		}
		log.Info("connected")
		tc := &trackedConn{Conn: c, id: id, ip: ip, release: func() { l.limits.release(ip) }, log: log, maxNonMail: int32(l.maxNonMail),
			guard: &dataGuard{}, done: make(chan struct{})}
		tc.exempt.Store(1) // the greeting
		return tc, nil
	}
}

// maxReplyLines bounds the lines of one multi-line reply (EHLO) that are
// not counted as replies of their own.
const maxReplyLines = 32

// trackedConn carries the connection id and frees its limit slot once.
// It outlives go-smtp's sessions (one per EHLO and STARTTLS), so it also
// counts the session's errors and its non-mail commands.
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

	// go-smtp answers NOOP, RSET, VRFY, HELP and EXPN without asking the
	// session, so they are counted here, below it: every reply written
	// counts one, and the session hands back what belongs to a mail
	// transaction (MAIL, RCPT, DATA, AUTH). exempt lines are the rest of
	// a multi-line reply. Past maxNonMail the next read answers 421
	// instead of reading a command. Writes are one reply line each, in
	// plain text and under TLS (one record per line).
	nonMail    atomic.Int32
	exempt     atomic.Int32
	maxNonMail int32
	// top is the connection go-smtp talks through (a *tls.Conn after
	// TLS), used to write the final 421 so the client can read it.
	top atomic.Pointer[net.Conn]

	// guard watches the connection's plain text (dataguard.go); done is
	// closed when the connection is.
	guard *dataGuard
	done  chan struct{}
}

// trackedOf returns the tracked connection under c (through TLS), or nil.
func trackedOf(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tracked, _ := c.(*trackedConn)
	return tracked
}

// credit hands back n counted replies that belong to a mail transaction.
func (c *trackedConn) credit(n int32) { c.nonMail.Add(-n) }

// completed starts the count afresh after an accepted message; the reply
// to DATA that is about to be written belongs to it.
func (c *trackedConn) completed() { c.nonMail.Store(-1) }

// multiLine lets the lines of the reply about to be written (EHLO's
// capabilities) count as one.
func (c *trackedConn) multiLine() {
	c.nonMail.Add(1)
	c.exempt.Store(maxReplyLines)
}

func (c *trackedConn) setTop(top net.Conn) { c.top.Store(&top) }

func (c *trackedConn) Read(p []byte) (int, error) {
	c.exempt.Store(0) // a new read ends the reply
	if c.maxNonMail > 0 && c.nonMail.Load() >= c.maxNonMail {
		n := c.nonMail.Load()
		c.log.Warn("rejected", "reason", "too many non-mail commands", "commands", n)
		const bye = "421 4.7.0 Too many commands without sending mail, closing connection\r\n"
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if top := c.top.Load(); top != nil && *top != net.Conn(c) {
			(*top).Write([]byte(bye))
		} else {
			c.Conn.Write([]byte(bye))
		}
		c.Close()
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.exempt.Load() > 0 {
		c.exempt.Add(-1)
	} else {
		c.nonMail.Add(1)
	}
	n, err := c.Conn.Write(p)
	if c.closeAfterWrite.Load() {
		c.Close()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.release()
		close(c.done)
		c.log.Info("disconnected")
	})
	return c.Conn.Close()
}

// tlsListener is tls.NewListener that also tells the tracked connection
// which *tls.Conn go-smtp will talk through.
type tlsListener struct {
	net.Listener
	config *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := tls.Server(c, l.config)
	if tr, ok := c.(*trackedConn); ok {
		tr.setTop(tc)
	}
	return tc, nil
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
