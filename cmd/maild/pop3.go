package main

import "yubin/pop3d"

// setupPOP3 creates the POP3 server and binds its listeners: cfg.POP3.Listen
// (port 110, STLS) and cfg.POP3.ListenTLS (port 995, implicit TLS). Logins
// go through the login throttle shared with IMAP.
func (d *daemon) setupPOP3() error {
	if len(d.cfg.POP3.Listen) == 0 && len(d.cfg.POP3.ListenTLS) == 0 {
		return nil
	}
	srv, err := pop3d.New(pop3d.Options{
		Hostname:            d.cfg.Hostname,
		TLS:                 d.certs.TLSConfig(),
		Auth:                d.logins,
		Maildrops:           d.store,
		PlaintextOnLoopback: d.cfg.Auth.PlaintextOnLoopback,
		Logger:              d.log,
	})
	if err != nil {
		return err
	}
	d.closers = append(d.closers, srv.Close)
	if err := d.bind("pop3", d.cfg.POP3.Listen, srv.Serve); err != nil {
		return err
	}
	return d.bind("pop3s", d.cfg.POP3.ListenTLS, srv.ServeTLS)
}
