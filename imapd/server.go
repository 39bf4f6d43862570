package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

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

// Caps is what the server advertises. Every entry is implemented: go-imap
// panics on connections when a capability's session interface is missing.
var Caps = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapIMAP4rev2:    {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapESearch:      {},
	imap.CapSearchRes:    {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapMove:         {},
	imap.CapStatusSize:   {},
	imap.CapBinary:       {},
	imap.CapChildren:     {},
	imap.CapSpecialUse:   {},
	imap.CapLiteralPlus:  {},
	imap.CapUnselect:     {},
	imap.CapIdle:         {},
	imap.CapEnable:       {},
}

// Server is the IMAP server. Serve and ServeTLS may be called for several
// listeners.
type Server struct {
	opts Options
	log  *slog.Logger
	reg  *registry
	// srv serves TLS clients and, on plain listeners, every client that
	// may not log in without TLS: it advertises LOGINDISABLED before
	// STARTTLS. loopSrv, set only with PlaintextOnLoopback, serves
	// loopback clients of plain listeners and allows their logins.
	srv     *imapserver.Server
	loopSrv *imapserver.Server

	mu     sync.Mutex
	closed bool
	splits []*splitter // listeners served by serveSplit, closed by Close
}

// New returns a Server. Install its Observe method as the store's observer
// (storage.Store.SetObserver) so sessions see each other's changes.
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
	s := &Server{opts: opts, log: opts.Logger, reg: newRegistry()}
	newServer := func(insecureAuth bool) *imapserver.Server {
		return imapserver.New(&imapserver.Options{
			NewSession:   s.newSession,
			Caps:         Caps,
			Logger:       log.New(&logWriter{s.log}, "", 0),
			TLSConfig:    opts.TLS,
			InsecureAuth: insecureAuth,
		})
	}
	s.srv = newServer(false)
	if opts.PlaintextOnLoopback {
		s.loopSrv = newServer(true)
	}
	return s, nil
}

// Observe feeds storage changes to open mailboxes. Pass it to
// storage.Store.SetObserver.
func (s *Server) Observe(ctx context.Context, c storage.Change) { s.reg.observe(ctx, c) }

// Serve accepts IMAP connections (STARTTLS offered) on l.
// Loopback clients may log in without TLS when PlaintextOnLoopback is
// set; others are told LOGINDISABLED (see loopback.go).
func (s *Server) Serve(l net.Listener) error {
	if s.loopSrv == nil {
		return s.serve(s.srv, coalescingListener{l})
	}
	return s.serveSplit(coalescingListener{l})
}

func (s *Server) serve(srv *imapserver.Server, l net.Listener) error {
	err := srv.Serve(l)
	if s.isClosed() {
		return nil
	}
	return err
}

// ServeTLS accepts implicit-TLS IMAP connections (port 993) on l.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("imapd: implicit TLS needs Options.TLS")
	}
	// Writes are gathered below TLS, so they also make fewer records.
	return s.serve(s.srv, tls.NewListener(coalescingListener{l}, s.opts.TLS))
}

// Close closes the listeners and every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	splits := s.splits
	s.splits = nil
	s.mu.Unlock()
	for _, sp := range splits {
		sp.close()
	}
	var errs []error
	for _, srv := range []*imapserver.Server{s.srv, s.loopSrv} {
		if srv == nil {
			continue
		}
		if err := srv.Close(); err != nil && err.Error() != "imapserver: server closed" {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// track registers a split listener for Close; false if already closed.
func (s *Server) track(sp *splitter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.splits = append(s.splits, sp)
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// logWriter turns the library's log.Logger output into slog lines.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Warn("imap server", "err", string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// remoteAddr returns a connection's client address.
func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
