package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"yubin/delivery"
)

// Mode is the listener's role.
type Mode int

const (
	// MX is the inbound server on port 25: mail for local domains only.
	MX Mode = iota
	// Submission is port 587 with STARTTLS.
	Submission
	// SubmissionTLS is port 465 with implicit TLS (RFC 8314).
	SubmissionTLS
)

func (m Mode) String() string {
	switch m {
	case Submission:
		return "submission"
	case SubmissionTLS:
		return "submissions"
	default:
		return "smtp"
	}
}

// Enqueuer makes an accepted message durable. It returns only when the
// message and its envelope are on disk; errors are *delivery.Error or are
// treated as temporary.
type Enqueuer interface {
	Enqueue(ctx context.Context, env delivery.Envelope, msg io.Reader) (delivery.ID, error)
}

// Options configure a Server. Zero limits take the documented defaults.
type Options struct {
	Mode Mode
	// Hostname is announced in the greeting and the Received header.
	Hostname string
	// TLS enables STARTTLS (MX, Submission) or is the implicit TLS
	// configuration (SubmissionTLS). Nil disables STARTTLS.
	TLS *tls.Config
	// MaxMessageBytes is the SIZE limit (default 25 MiB).
	MaxMessageBytes int64
	// MaxRecipients per message (default 100).
	MaxRecipients int
	// MaxLineLength for command and data lines (default 2000).
	MaxLineLength int
	// MaxConnections in total and per client (storage.ClientKey: an IPv4
	// address or an IPv6 /64) (defaults 500 and 20). They make the
	// Server's own Limits when Limits is nil.
	MaxConnections, MaxConnectionsPerIP int
	// Limits, when set, is shared with other Servers (587 and 465 share
	// one), and MaxConnections/MaxConnectionsPerIP are not used. Without
	// it, all listeners of this Server share one.
	Limits *Limits
	// MaxNonMailCommands is how many commands outside a mail transaction
	// (NOOP, RSET, VRFY, HELP, EXPN, EHLO, STARTTLS, unknown ones) a
	// connection may send before a message is accepted; the count starts
	// again after each accepted message. Past it the connection gets
	// 421 4.7.0 and is closed, so a client cannot hold a slot forever by
	// sending one NOOP per ReadTimeout (default 50).
	MaxNonMailCommands int
	// ReadTimeout bounds each command and a whole DATA transfer (default
	// 5m); WriteTimeout each reply (default 1m).
	ReadTimeout, WriteTimeout time.Duration
	// Logger gets connection and message events.
	Logger *slog.Logger
	// Policy decides MAIL and RCPT. Required.
	Policy Policy
	// Auth checks AUTH PLAIN/LOGIN credentials. Nil disables AUTH (the
	// MX); submission sets it. AUTH is offered only under TLS, or on
	// loopback connections when PlaintextOnLoopback is set.
	Auth                Authenticator
	PlaintextOnLoopback bool
	// HideClientIP leaves the client's address out of Received headers.
	HideClientIP bool
	// Queue receives accepted messages. Required.
	Queue Enqueuer
	// MaxErrors is how many refused commands (bad recipients, relay
	// attempts, failed logins) a connection may have; the next refusal
	// is followed by 421 and the connection is closed (default 10).
	MaxErrors int
	// Blocklist, when set, is asked about every client before the
	// greeting; a listed client gets 554 naming the list.
	Blocklist Blocklist
}

// Server is one SMTP listener role; Serve may be called for several
// listeners.
type Server struct {
	opts Options
	log  *slog.Logger

	// Each connection is served by a go-smtp Server of its own: its Debug
	// tee, the connection's plain text after TLS, feeds the connection's
	// data guard (dataguard.go).
	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[*smtp.Server]struct{}
	wg        sync.WaitGroup
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Policy == nil || opts.Queue == nil {
		return nil, errors.New("smtpd: Options.Policy and Options.Queue are required")
	}
	if opts.Mode == SubmissionTLS && opts.TLS == nil {
		return nil, errors.New("smtpd: implicit TLS needs Options.TLS")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 100
	}
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = 2000
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 500
	}
	if opts.MaxConnectionsPerIP <= 0 {
		opts.MaxConnectionsPerIP = 20
	}
	if opts.MaxNonMailCommands <= 0 {
		opts.MaxNonMailCommands = 50
	}
	if opts.Limits == nil {
		opts.Limits = NewLimits(opts.MaxConnections, opts.MaxConnectionsPerIP)
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: opts.Logger.With("proto", opts.Mode.String()), conns: map[*smtp.Server]struct{}{}}, nil
}

// newSMTP returns the go-smtp server for one connection, with debug as
// its tee of everything read and written.
func (s *Server) newSMTP(debug io.Writer) *smtp.Server {
	opts := s.opts
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = opts.MaxRecipients
	srv.MaxLineLength = opts.MaxLineLength
	srv.ReadTimeout = opts.ReadTimeout
	srv.WriteTimeout = opts.WriteTimeout
	srv.EnableSMTPUTF8 = true
	// go-smtp decides per server; authMechanisms narrows it to loopback.
	srv.AllowInsecureAuth = opts.PlaintextOnLoopback
	srv.ErrorLog = log.New(&slogWriter{s.log}, "", 0)
	if opts.Mode != SubmissionTLS {
		srv.TLSConfig = opts.TLS
	}
	srv.Debug = debug
	return srv
}

// Serve accepts connections on l until Shutdown or Close. For
// SubmissionTLS it wraps l in TLS itself.
func (s *Server) Serve(l net.Listener) error {
	var wrapped net.Listener = &limitListener{Listener: l, log: s.log, limits: s.opts.Limits, maxNonMail: s.opts.MaxNonMailCommands}
	if s.opts.Blocklist != nil {
		wrapped = newBlocklistListener(wrapped, s.opts.Blocklist, s.opts.Hostname)
	}
	if s.opts.Mode == SubmissionTLS {
		// TLS outside the limit wrapper: go-smtp and the policies see a
		// *tls.Conn, and NetConn() leads back to the tracked conn.
		wrapped = tlsListener{Listener: wrapped, config: s.opts.TLS}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.listeners = append(s.listeners, wrapped)
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := wrapped.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept error; retrying", "err", err, "in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.serveConn(c)
	}
}

// serveConn serves c with a go-smtp server of its own until c is closed.
func (s *Server) serveConn(c net.Conn) {
	tracked := trackedOf(c)
	if tracked == nil {
		// Served without the limit wrapper: nothing to tie the guard
		// to. Serve always wraps.
		c.Close()
		return
	}
	srv := s.newSMTP(tracked.guard)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[srv] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		srv.Serve(&oneConnListener{c: c, done: tracked.done})
		s.mu.Lock()
		delete(s.conns, srv)
		s.mu.Unlock()
	}()
}

// oneConnListener hands go-smtp one connection, then blocks until that
// connection is closed (or the listener is), so go-smtp's Serve returns.
type oneConnListener struct {
	c    net.Conn
	done <-chan struct{}
	once sync.Once
	mu   sync.Mutex
	next bool
	stop chan struct{}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.once.Do(func() { l.stop = make(chan struct{}) })
	l.mu.Lock()
	first := !l.next
	l.next = true
	l.mu.Unlock()
	if first {
		return l.c, nil
	}
	select {
	case <-l.done:
	case <-l.stop:
	}
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { l.stop = make(chan struct{}) })
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }

// Shutdown stops accepting and waits for sessions to end until ctx is
// done; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var err error
	for _, l := range s.listeners {
		if cerr := l.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	srvs := make([]*smtp.Server, 0, len(s.conns))
	for srv := range s.conns {
		srvs = append(srvs, srv)
	}
	s.mu.Unlock()
	// go-smtp's Shutdown closes the listener and waits for the session.
	for _, srv := range srvs {
		go srv.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		s.log.Warn("shutdown timeout: closing remaining sessions")
		s.mu.Lock()
		for srv := range s.conns {
			srv.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// slogWriter turns go-smtp's log.Logger output into slog lines.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.log.Warn("smtp server", "err", string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
