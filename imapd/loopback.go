package imapd

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// go-imap's imapserver decides per server whether a login without TLS is
// allowed (Options.InsecureAuth), and from that whether it advertises
// AUTH= or LOGINDISABLED. Plaintext logins are allowed only from loopback
// clients (Options.PlaintextOnLoopback), so a plain listener is split in
// two: loopback clients go to a server that allows them, every other
// client to one that advertises LOGINDISABLED and no AUTH= until STARTTLS
// (RFC 9051 §6.2.3, RFC 3501 §6.2.3), so a client is never invited to send
// a password in clear that would then be refused.
//
// Each server's Serve starts with the first connection handed to it:
// imapserver.Server.Close races with a Serve that has accepted nothing.

// serveSplit accepts from l and hands each connection to s.loopSrv or
// s.srv by its client address, until l is closed.
func (s *Server) serveSplit(l net.Listener) error {
	sp := &splitter{Listener: l, closed: make(chan struct{})}
	if !s.track(sp) {
		l.Close()
		return nil
	}
	defer s.untrack(sp)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	subs := map[*imapserver.Server]*subListener{}
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Transient (e.g. out of file descriptors): back off as
				// imapserver does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				err = nil
			}
			sp.Close()
			for _, sub := range subs {
				close(sub.done)
			}
			wg.Wait()
			return errors.Join(append(errs, err)...)
		}
		delay = 0
		srv := s.srv
		if remoteAddr(c).IsLoopback() {
			srv = s.loopSrv
		}
		sub := subs[srv]
		if sub == nil {
			sub = &subListener{sp: sp, conns: make(chan net.Conn), done: make(chan struct{})}
			subs[srv] = sub
			wg.Go(func() {
				if err := s.serve(srv, sub); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				// A server that stopped stops the listener.
				sp.Close()
			})
		}
		select {
		case sub.conns <- c:
		case <-sp.closed:
			c.Close()
		}
	}
}

// splitter is the listener shared by the two servers. Server.Close
// closes it like any listener it serves.
type splitter struct {
	net.Listener
	closed chan struct{} // closed by Close
	once   sync.Once
}

func (sp *splitter) Close() error {
	var err error
	sp.once.Do(func() {
		close(sp.closed)
		err = sp.Listener.Close()
	})
	return err
}

// subListener is what one server of a split listener accepts from.
type subListener struct {
	sp    *splitter
	conns chan net.Conn
	done  chan struct{} // closed when the accept loop has ended
}

func (s *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

func (s *subListener) Close() error   { return s.sp.Close() }
func (s *subListener) Addr() net.Addr { return s.sp.Addr() }
