package main

import (
	"net"

	"yubin/imapd"
)

// setupIMAP binds the IMAP listeners: STARTTLS (143) and implicit TLS (993).
func (d *daemon) setupIMAP() error {
	cfg := d.cfg.IMAP
	if len(cfg.Listen)+len(cfg.ListenTLS) == 0 {
		return nil
	}
	srv, err := imapd.New(imapd.Options{
		TLS:                 d.certs.TLSConfig(),
		Auth:                d.logins,
		Accounts:            d.store,
		PlaintextOnLoopback: d.cfg.Auth.PlaintextOnLoopback,
		AppendLimit:         uint32(cfg.MaxMessageBytes),
		Logger:              d.log,
		Learner:             junkLearner(d.cfg.Filters),
	})
	if err != nil {
		return err
	}
	// Sessions see deliveries and each other's changes through the
	// store's change feed.
	d.store.SetObserver(srv.Observe)
	// One limiter for 143 and 993: the caps hold over both. RFC 9051
	// §7.1.5 lets a server send BYE instead of a greeting.
	limiter := newConnLimiter(cfg.MaxConnections, cfg.MaxConnectionsPerIP, func(reason string) string {
		return "* BYE [UNAVAILABLE] " + reason + ", try again later\r\n"
	}, d.log.With("proto", "imap"))
	limit := func(serve func(net.Listener) error, tls bool) func(net.Listener) error {
		return func(l net.Listener) error { return serve(limiter.Wrap(l, tls)) }
	}
	if err := d.bind("imap", cfg.Listen, limit(srv.Serve, false)); err != nil {
		return err
	}
	if err := d.bind("imaps", cfg.ListenTLS, limit(srv.ServeTLS, true)); err != nil {
		return err
	}
	d.closers = append(d.closers, srv.Close)
	return nil
}
