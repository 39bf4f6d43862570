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
	limit := func(serve func(net.Listener) error) func(net.Listener) error {
		return func(l net.Listener) error {
			return serve(newConnLimiter(l, cfg.MaxConnectionsPerIP, "* BYE Too many connections from your address\r\n", d.log))
		}
	}
	if err := d.bind("imap", cfg.Listen, limit(srv.Serve)); err != nil {
		return err
	}
	if err := d.bind("imaps", cfg.ListenTLS, limit(srv.ServeTLS)); err != nil {
		return err
	}
	d.closers = append(d.closers, srv.Close)
	return nil
}
