package imapd

import (
	"errors"
	"net"
	"sync"
	"time"
)

// go-imap's imapserver decides per server whether a login without TLS is
// allowed (Options.InsecureAuth), and from that whether it advertises
// AUTH= or LOGINDISABLED. Plaintext logins are allowed only from loopback
// clients (Options.PlaintextOnLoopback), so a plain listener is split in
// two: loopback clients go to a server that allows them, every other
// client to one that advertises LOGINDISABLED and no AUTH= until STARTTLS
// (RFC 9051 §6.2.3, RFC 3501 §6.2.3), so a client is never invited to send
// a password in clear that would then be refused.

// splitLoopback accepts from l and hands loopback clients to the first
// listener returned, all others to the second. Closing either closes l.
func splitLoopback(l net.Listener) (loop, other net.Listener) {
	sp := &splitter{l: l, done: make(chan struct{}), closed: make(chan struct{})}
	lo := &subListener{sp: sp, conns: make(chan net.Conn)}
	ot := &subListener{sp: sp, conns: make(chan net.Conn)}
	go sp.run(lo, ot)
	return lo, ot
}

type splitter struct {
	l      net.Listener
	done   chan struct{} // closed when the accept loop has ended
	err    error         // why it ended; set before done is closed
	closed chan struct{} // closed by close
	once   sync.Once
}

func (sp *splitter) run(lo, ot *subListener) {
	var delay time.Duration
	for {
		c, err := sp.l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Transient (e.g. out of file descriptors): back off as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			sp.err = err
			close(sp.done)
			return
		}
		delay = 0
		to := ot
		if remoteAddr(c).IsLoopback() {
			to = lo
		}
		select {
		case to.conns <- c:
		case <-sp.closed:
			c.Close()
		}
	}
}

func (sp *splitter) close() error {
	var err error
	sp.once.Do(func() {
		close(sp.closed)
		err = sp.l.Close()
	})
	return err
}

// subListener is one side of a split listener.
type subListener struct {
	sp    *splitter
	conns chan net.Conn
}

func (s *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.sp.done:
		return nil, s.sp.err
	}
}

func (s *subListener) Close() error   { return s.sp.close() }
func (s *subListener) Addr() net.Addr { return s.sp.l.Addr() }
