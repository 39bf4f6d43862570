package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"yubin/storage"
)

// Authenticator checks a login through the shared throttle;
// *storage.LoginGuard implements it.
type Authenticator interface {
	Login(ctx context.Context, remote netip.Addr, user, password string) (storage.User, error)
}

// Accounts opens a user's mailboxes; *storage.Store implements it.
type Accounts interface {
	Account(ctx context.Context, addr storage.Address) (*storage.Account, error)
}

// Options configure a Server.
type Options struct {
	// TLS serves STARTTLS and implicit TLS. Nil disables both.
	TLS *tls.Config
	// Auth checks passwords. Required.
	Auth Authenticator
	// Accounts opens mailboxes. Required.
	Accounts Accounts
	// PlaintextOnLoopback allows LOGIN/AUTHENTICATE without TLS from
	// loopback addresses (the dev mode). Otherwise TLS is required.
	PlaintextOnLoopback bool
	// AppendLimit is the largest APPEND accepted (default 50 MiB).
	AppendLimit uint32
	// Logger gets connection and login events.
	Logger *slog.Logger
	// Learner, when set, learns spam from messages users move into Junk
	// and ham from those moved out (see learn.go).
	Learner Learner
}

// Server is the IMAP server. Serve and ServeTLS may be called for several
// listeners.
type Server struct {
	opts   Options
	log    *slog.Logger
	notify *notifier
	boxes  *openBoxes // selected mailboxes' shared state (headercache.go)

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	wg        sync.WaitGroup // running sessions
}

// New returns a Server. Install its Observe method as the store's observer
// (storage.Store.SetObserver) so sessions learn of changes at once.
func New(opts Options) (*Server, error) {
	if opts.Auth == nil || opts.Accounts == nil {
		return nil, errors.New("imapd: Options.Auth and Options.Accounts are required")
	}
	if opts.AppendLimit == 0 {
		opts.AppendLimit = 50 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		opts:      opts,
		log:       opts.Logger,
		notify:    newNotifier(),
		boxes:     newOpenBoxes(),
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}, nil
}

// Observe wakes the sessions that have the changed mailbox selected
// (IDLE, and the updates after each command). The change itself is read
// from storage's change log, the one source of mailbox state; the
// observer only says when to look. Pass it to storage.Store.SetObserver.
func (s *Server) Observe(_ context.Context, c storage.Change) {
	s.notify.changed(c.User.String(), c.Mailbox)
}

// Serve accepts IMAP connections (STARTTLS offered) on l.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts implicit-TLS IMAP connections (port 993) on l.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("imapd: implicit TLS needs Options.TLS")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if !s.track(l) {
		l.Close()
		return nil
	}
	defer s.untrack(l)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Transient (out of file descriptors): back off.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return nil
			}
			return err
		}
		delay = 0
		sess := s.newSession(c, implicitTLS)
		if !s.addSession(sess) {
			c.Write([]byte("* BYE [UNAVAILABLE] Server shutting down\r\n"))
			c.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.removeSession(sess)
			sess.serve()
		}()
	}
}

// byeWait bounds how long Close waits for sessions to say BYE and end (a
// client that stops reading must not hold up a shutdown).
const byeWait = 2 * time.Second

// Close stops accepting connections and ends every session with an
// untagged BYE (RFC 9051 §7.1.5): each session finishes the command it is
// running, says BYE and closes; after byeWait the rest are cut off.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var lerr error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) && lerr == nil {
			lerr = err
		}
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.shutdown()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(byeWait):
		s.log.Warn("shutdown: not every session took its BYE in time", "sessions", len(sessions))
		for _, sess := range sessions {
			sess.conn().Close()
		}
		<-done
	}
	return lerr
}

// track adds a listener for Close to close; false if the server is
// closed already.
func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// addSession registers a running session; false if the server is closing.
func (s *Server) addSession(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// remoteAddr returns a connection's client address.
func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
