package smtpd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"yubin/smtpd/senderauth"
)

// countError counts a refused command against the connection. Past
// MaxErrors it returns the 421 to send instead, and the connection is
// closed once that reply is written (RFC 5321 §4.3.2 allows 421 at any
// time).
func (s *session) countError() *smtp.SMTPError {
	if s.tracked == nil {
		return nil
	}
	n := int(s.tracked.errors.Add(1))
	if n <= s.srv.opts.MaxErrors {
		return nil
	}
	s.log.Warn("rejected", "reason", "too many errors", "errors", n)
	s.tracked.closeAfterWrite.Store(true)
	return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many errors, closing connection"}
}

// Blocklist decides at connect time whether a client may talk to us at
// all; *senderauth.DNSBL implements it.
type Blocklist interface {
	Check(ctx context.Context, ip netip.Addr) (*senderauth.Listing, error)
}

// blocklistCheckTimeout bounds the DNSBL lookups of one connection.
const blocklistCheckTimeout = 10 * time.Second

// blocklistListener asks the Blocklist about each connection before
// go-smtp greets it. Lookups run concurrently, one goroutine per
// connection, so a slow list does not hold up the accept loop; the
// connection limits are already applied by the wrapped listener.
type blocklistListener struct {
	net.Listener
	bl       Blocklist
	hostname string

	start  sync.Once
	conns  chan net.Conn
	errc   chan error
	done   chan struct{}
	closed sync.Once
}

func newBlocklistListener(l net.Listener, bl Blocklist, hostname string) *blocklistListener {
	return &blocklistListener{Listener: l, bl: bl, hostname: hostname, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{})}
}

func (l *blocklistListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.loop() })
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // every later Accept fails the same way
		return nil, err
	}
}

func (l *blocklistListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *blocklistListener) loop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.errc <- err
			return
		}
		go l.check(c)
	}
}

func (l *blocklistListener) check(c net.Conn) {
	tc, _ := c.(*trackedConn)
	ip := remoteIP(c)
	ctx, cancel := context.WithTimeout(context.Background(), blocklistCheckTimeout)
	listing, err := l.bl.Check(ctx, ip)
	cancel()
	if tc != nil && err != nil {
		tc.log.Warn("dnsbl lookup failed", "err", err)
	}
	if listing != nil {
		msg := fmt.Sprintf("554 5.7.1 Service unavailable; client [%s] blocked using %s", ip, listing.Zone)
		if listing.Reason != "" {
			msg += "; " + listing.Reason
		}
		if tc != nil {
			tc.log.Warn("rejected", "reason", "dnsbl", "zone", listing.Zone, "code", listing.Code.String())
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%s\r\n", msg)
		c.Close()
		return
	}
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}
