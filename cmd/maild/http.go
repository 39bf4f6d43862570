package main

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"yubin/admin/config"
	"yubin/admin/control"
	"yubin/admin/metrics"
	"yubin/admin/web"
)

// setupHTTP binds the web listeners (http.listen, http.listen_tls) and
// the metrics listener (http.metrics_listen). It runs after the mail
// listeners are bound, so clients are told the ports really listening.
func (d *daemon) setupHTTP() error {
	svc := web.Services{Hostname: d.cfg.Hostname}
	for _, b := range d.bound {
		tcp, ok := b.l.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		var port *int
		switch b.proto {
		case "imap":
			port = &svc.IMAP
		case "imaps":
			port = &svc.IMAPS
		case "pop3":
			port = &svc.POP3
		case "pop3s":
			port = &svc.POP3S
		case "submission":
			port = &svc.Submission
		case "submissions":
			port = &svc.Submissions
		}
		if port != nil && *port == 0 {
			*port = tcp.Port
		}
	}
	srv, err := web.New(web.Options{
		Services: svc,
		Domains:  d.store,
		Auth:     d.logins,
		MTASTS:   web.MTASTSFromConfig(d.cfg),
		Logger:   d.log.With("component", "http"),
	})
	if err != nil {
		return err
	}
	// With ACME, HTTP-01 challenges are answered before the web mux.
	plain := &http.Server{
		Handler:           d.certs.HTTPHandler(srv),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	serveHTTP := srv.Serve
	if d.certs.ACME() {
		serveHTTP = func(l net.Listener) error {
			if err := plain.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
		d.shutdowns = append(d.shutdowns, plain.Shutdown)
	}
	if err := d.bind("http", d.cfg.HTTP.Listen, serveHTTP); err != nil {
		return err
	}
	// HTTPSConfig offers acme-tls/1 (TLS-ALPN-01) with ACME.
	tlsConfig := d.certs.HTTPSConfig()
	if err := d.bind("https", d.cfg.HTTP.ListenTLS, func(l net.Listener) error {
		return srv.Serve(tls.NewListener(l, tlsConfig))
	}); err != nil {
		return err
	}
	d.shutdowns = append(d.shutdowns, srv.Shutdown)

	if d.cfg.HTTP.MetricsListen == "" {
		return nil
	}
	m, ok := metrics.FromHandler(d.log.Handler())
	if !ok {
		m = metrics.New(metrics.Options{Version: version})
	}
	m.SetQueue(d.queue)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := d.bind("metrics", []string{d.cfg.HTTP.MetricsListen}, func(l net.Listener) error {
		if err := ms.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	d.shutdowns = append(d.shutdowns, ms.Shutdown)
	return nil
}

// listeners returns what is bound so far, for the control socket's
// status (setupControl runs last).
func (d *daemon) listeners() []control.Listener {
	out := make([]control.Listener, 0, len(d.bound))
	for _, b := range d.bound {
		out = append(out, control.Listener{Proto: b.proto, Addr: b.l.Addr().String()})
	}
	return out
}

// mtastsPolicyID is the id of the MTA-STS policy served, "" when off.
func mtastsPolicyID(cfg config.Config) string {
	if p := web.MTASTSFromConfig(cfg); p != nil {
		return p.ID()
	}
	return ""
}
