package pop3d

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"yubin/storage"
)

// Authenticator checks a user's password. storage.LoginGuard implements
// it: failures count in the login throttle shared with IMAP and
// submission. Login returns storage.ErrAuthFailed for bad credentials,
// storage.ErrThrottled while the client or account is over the failure
// limit, and any other error for a system failure.
type Authenticator interface {
	Login(ctx context.Context, remote netip.Addr, user, password string) (storage.User, error)
}

// Maildrops opens a user's account; *storage.Store implements it.
type Maildrops interface {
	Account(ctx context.Context, addr storage.Address) (*storage.Account, error)
}

// Options configure a Server. Zero limits take the documented defaults.
type Options struct {
	// Hostname is announced in the greeting.
	Hostname string
	// TLS is used for STLS (Serve) and implicit TLS (ServeTLS). Nil
	// disables both.
	TLS *tls.Config
	// Auth checks passwords. Required.
	Auth Authenticator
	// Maildrops opens the authenticated user's INBOX. Required.
	Maildrops Maildrops
	// PlaintextOnLoopback allows USER/PASS and AUTH without TLS from
	// loopback addresses (127.0.0.0/8, ::1). Elsewhere a login needs TLS.
	PlaintextOnLoopback bool
	// MaxConnections in total and per client (storage.ClientKey: an IPv4
	// address or an IPv6 /64) (defaults 500 and 20).
	MaxConnections, MaxConnectionsPerIP int
	// IdleTimeout closes a connection that sends no command for this long
	// (default 10m, the minimum of RFC 1939 §3). It also bounds each write.
	IdleTimeout time.Duration
	// MaxLineLength bounds a command line including CRLF (default 512;
	// RFC 2449 §4 allows 255 octets). A longer line gets -ERR and the
	// connection is closed.
	MaxLineLength int
	// MaxBadCommands is how many unknown, malformed or out-of-state
	// commands a session may send before it is closed (default 20).
	MaxBadCommands int
	// Logger gets connection and login events. Nil discards them.
	Logger *slog.Logger
}

// Server is a POP3 server (RFC 1939) over storage. Serve and ServeTLS may
// be called for several listeners; Close stops them all.
//
// Locking: mu guards the listener, connection and maildrop-lock sets.
// Each maildrop may be held by one session at a time (RFC 1939 §8:
// exclusive access); the lock lives in this process only, which is where
// every POP3 session of this data directory runs. IMAP sessions do not
// take it.
type Server struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	sizes  *sizeCache

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	perIP     map[string]int      // by storage.ClientKey
	locked    map[string]struct{} // maildrops in use, by address
	wg        sync.WaitGroup      // sessions
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Auth == nil {
		return nil, errors.New("pop3d: Options.Auth is required")
	}
	if opts.Maildrops == nil {
		return nil, errors.New("pop3d: Options.Maildrops is required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 500
	}
	if opts.MaxConnectionsPerIP <= 0 {
		opts.MaxConnectionsPerIP = 20
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = 512
	}
	if opts.MaxBadCommands <= 0 {
		opts.MaxBadCommands = 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		sizes:     newSizeCache(200000),
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
		perIP:     map[string]int{},
		locked:    map[string]struct{}{},
	}, nil
}

// Serve accepts plain POP3 connections (port 110) on l; STLS is offered
// when Options.TLS is set. It returns nil after Close.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, "pop3", false) }

// ServeTLS accepts POP3 over implicit TLS (port 995, RFC 8314) on l. It
// returns nil after Close.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("pop3d: ServeTLS needs Options.TLS")
	}
	return s.serve(l, "pop3s", true)
}

func (s *Server) serve(l net.Listener, proto string, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return errors.New("pop3d: server closed")
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || !errors.Is(err, net.ErrClosed) {
				// Temporary (EMFILE and the like): back off and go on.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed", "proto", proto, "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.accept(c, proto, implicitTLS)
	}
}

// accept checks the connection limits and starts the session.
func (s *Server) accept(c net.Conn, proto string, implicitTLS bool) {
	remote := remoteAddr(c)
	id := newConnID()
	log := s.log.With("conn_id", id, "proto", proto, "remote", remote.String())
	if reason := s.acquire(c, remote); reason != "" {
		log.Warn("rejected", "reason", reason)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "-ERR [SYS/TEMP] %s, try again later\r\n", reason)
		c.Close()
		return
	}
	go func() {
		defer s.wg.Done()
		defer s.release(c, remote)
		sess := s.newSession(c, remote, log, implicitTLS)
		sess.run()
	}()
}

// acquire registers c within the connection limits, or returns why not.
func (s *Server) acquire(c net.Conn, ip netip.Addr) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "Server shutting down"
	case len(s.conns) >= s.opts.MaxConnections:
		return "Too many connections"
	case s.perIP[storage.ClientKey(ip)] >= s.opts.MaxConnectionsPerIP:
		return "Too many connections from your address"
	}
	s.conns[c] = struct{}{}
	s.perIP[storage.ClientKey(ip)]++
	s.wg.Add(1)
	return ""
}

func (s *Server) release(c net.Conn, ip netip.Addr) {
	c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	k := storage.ClientKey(ip)
	if s.perIP[k]--; s.perIP[k] <= 0 {
		delete(s.perIP, k)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listener, drops every session and waits for the
// sessions to end. A dropped session deletes nothing: deletions happen
// only when a client sends QUIT (RFC 1939 §6). A session already in the
// UPDATE state finishes it first.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return errors.Join(errs...)
}

// lockMaildrop takes the exclusive POP3 lock on addr's maildrop.
func (s *Server) lockMaildrop(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.locked[addr]; ok {
		return false
	}
	s.locked[addr] = struct{}{}
	return true
}

func (s *Server) unlockMaildrop(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.locked, addr)
}

func remoteAddr(c net.Conn) netip.Addr {
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
