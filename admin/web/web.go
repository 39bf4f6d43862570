// Package web is the HTTP side of Yubin: what mail clients fetch to set
// themselves up, and the MTA-STS policy other servers fetch.
//
//	GET  /mail/config-v1.1.xml?emailaddress=A         Thunderbird autoconfig (autoconfig.DOMAIN)
//	GET  /.well-known/autoconfig/mail/config-v1.1.xml  the same, on the domain itself
//	POST /autodiscover/autodiscover.xml                Outlook autodiscover, POX schema (autodiscover.DOMAIN)
//	GET  /autodiscover/autodiscover.json?Email=A&Protocol=AutodiscoverV1
//	GET  /autodiscover/autodiscover.json/v1.0/A?Protocol=AutodiscoverV1
//	                                                   Outlook's JSON v2 lookup: where the POX endpoint is
//	GET  /profile.mobileconfig                         Apple profile of the logged-in user (HTTPS, Basic auth)
//	GET  /.well-known/mta-sts.txt                      MTA-STS policy (RFC 8461), when enabled
//
// Every answer names the settings of the listeners that are actually
// bound ([Services]), with the server's hostname, so clients connect to
// what is there. Addresses are normalised with storage.ParseAddress and
// their domain must be local; other domains get each protocol's "not
// found" answer. The package holds no state beyond its Options.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"yubin/admin/config"
	"yubin/storage"
)

// Domains tells which domains are local (*storage.Store implements it).
type Domains interface {
	// IsLocalDomain reports whether mail for domain is delivered here.
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
}

// Authenticator checks a login, with the same throttling as the mail
// protocols (*storage.LoginGuard implements it): storage.ErrAuthFailed
// or storage.ErrThrottled (wrapped) when refused, storage.ErrBusy when
// every password-hash slot stayed busy (answered 503).
type Authenticator interface {
	Login(ctx context.Context, remote netip.Addr, user, password string) (storage.User, error)
}

// Services are the mail services clients are told about: the host name
// and the port of each listener, 0 where there is none.
type Services struct {
	Hostname string
	// IMAP is STARTTLS (143), IMAPS implicit TLS (993).
	IMAP, IMAPS int
	// POP3 is STLS (110), POP3S implicit TLS (995).
	POP3, POP3S int
	// Submission is STARTTLS (587), Submissions implicit TLS (465).
	Submission, Submissions int
}

// PortOf returns the port of the first "host:port" address, 0 when there
// is none or it has no numeric port.
func PortOf(addrs []string) int {
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// Options configure a Server.
type Options struct {
	// Services are advertised to clients. Required.
	Services Services
	// Domains checks that an address's domain is local. Required.
	Domains Domains
	// Auth checks the login of /profile.mobileconfig; nil answers 404
	// there.
	Auth Authenticator
	// MTASTS is the policy served at /.well-known/mta-sts.txt; nil
	// answers 404 there.
	MTASTS *MTASTSPolicy
	// Logger gets one line per failed lookup or login. Nil discards.
	Logger *slog.Logger
}

// Server answers the HTTP requests. Create it with New.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	http *http.Server
}

// New returns a server for opts.
func New(opts Options) (*Server, error) {
	if opts.Domains == nil {
		return nil, errors.New("web: Options.Domains is required")
	}
	if opts.Services.Hostname == "" {
		return nil, errors.New("web: Options.Services.Hostname is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mail/config-v1.1.xml", s.handleAutoconfig)
	mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", s.handleAutoconfig)
	mux.HandleFunc("POST /autodiscover/autodiscover.xml", s.handleAutodiscover)
	mux.HandleFunc("POST /Autodiscover/Autodiscover.xml", s.handleAutodiscover)
	mux.HandleFunc("GET /autodiscover/autodiscover.json", s.handleAutodiscoverJSON)
	mux.HandleFunc("GET /autodiscover/autodiscover.json/v1.0/{email}", s.handleAutodiscoverJSON)
	mux.HandleFunc("GET /Autodiscover/Autodiscover.json", s.handleAutodiscoverJSON)
	mux.HandleFunc("GET /profile.mobileconfig", s.handleProfile)
	mux.HandleFunc("GET /.well-known/mta-sts.txt", s.handleMTASTS)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 not found", http.StatusNotFound)
	})
	s.mux = mux
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// ServeHTTP lets the server be used as a handler (tests).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers requests on l until Shutdown. For HTTPS, l is a
// tls.NewListener; requests then carry their TLS state.
func (s *Server) Serve(l net.Listener) error {
	return ignoreClosed(s.http.Serve(l))
}

// Shutdown stops accepting and waits for open requests up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// lookup parses addr and checks its domain is local. It returns the
// normalised address; errNotLocal for a domain served elsewhere.
func (s *Server) lookup(ctx context.Context, addr string) (storage.Address, error) {
	a, err := storage.ParseAddress(addr)
	if err != nil {
		return storage.Address{}, fmt.Errorf("%w: %v", errBadAddress, err)
	}
	ok, err := s.opts.Domains.IsLocalDomain(ctx, a.Domain)
	if err != nil {
		return storage.Address{}, err
	}
	if !ok {
		return a, errNotLocal
	}
	return a, nil
}

var (
	errNotLocal   = errors.New("domain is not served here")
	errBadAddress = errors.New("invalid address")
)

// ServicesFromConfig returns the services cfg configures: the port of the
// first address of each listener. maild advertises the ports it has
// actually bound instead; mailctl, which binds nothing, uses this.
func ServicesFromConfig(cfg config.Config) Services {
	return Services{
		Hostname:    cfg.Hostname,
		IMAP:        PortOf(cfg.IMAP.Listen),
		IMAPS:       PortOf(cfg.IMAP.ListenTLS),
		POP3:        PortOf(cfg.POP3.Listen),
		POP3S:       PortOf(cfg.POP3.ListenTLS),
		Submission:  PortOf(cfg.Submission.Listen),
		Submissions: PortOf(cfg.Submission.ListenTLS),
	}
}

// MTASTSFromConfig returns the MTA-STS policy cfg enables (http.mta_sts_mode),
// nil when it is off. The only MX is the server's hostname.
func MTASTSFromConfig(cfg config.Config) *MTASTSPolicy {
	if cfg.HTTP.MTASTSMode == "" {
		return nil
	}
	return &MTASTSPolicy{Mode: cfg.HTTP.MTASTSMode, MX: []string{cfg.Hostname}, MaxAge: cfg.HTTP.MTASTSMaxAge}
}
