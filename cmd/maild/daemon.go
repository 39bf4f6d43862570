package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"yubin/admin"
	"yubin/admin/config"
	"yubin/delivery"
	"yubin/smtpd"
	"yubin/storage"
	"yubin/submission"
)

// daemon is the running set of servers.
type daemon struct {
	cfg    config.Config
	log    *slog.Logger
	store  *storage.Store
	queue  *delivery.Queue
	certs  *config.Certificates
	smtp   *smtpd.Server
	logins *storage.LoginGuard
	failed chan error
	// closers stop the IMAP and POP3 servers at shutdown; shutdowns
	// stop the submission servers gracefully, like smtp.
	closers   []func() error
	shutdowns []func(context.Context) error
	// submitter takes locally submitted mail (sendmail).
	submitter *submission.Policy
	// bound holds listeners bound by start, served once all are bound.
	bound []boundListener
}

// boundListener is a listener waiting to be served.
type boundListener struct {
	proto string
	l     net.Listener
	serve func(net.Listener) error
}

// start opens storage and the queue, loads TLS, binds every listener and
// logs "ready" with the bound addresses.
func start(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) (*daemon, error) {
	paths := cfg.Paths()
	log.Info("starting", "hostname", cfg.Hostname, "data_dir", cfg.DataDir, "dev", cfg.Dev,
		"smtp_listen", cfg.SMTP.Listen, "max_message_bytes", cfg.SMTP.MaxMessageBytes,
		"max_recipients", cfg.SMTP.MaxRecipients, "tls_cert", cfg.TLS.CertFile)
	st, err := storage.Open(cfg.DataDir, storage.Options{Logger: log.With("component", "storage"), Postmaster: cfg.Delivery.Postmaster})
	if err != nil {
		return nil, err
	}
	d := &daemon{cfg: cfg, log: log, store: st, failed: make(chan error, 8)}
	ok := false
	defer func() {
		if !ok {
			d.close()
		}
	}()
	if cfg.Dev {
		pw, err := admin.EnsureDemo(ctx, st)
		if err != nil {
			return nil, err
		}
		if pw != "" {
			fmt.Fprintf(stdout, "\nDemo user created: %s\nPassword (shown once): %s\n\n", admin.DemoUser, pw)
		}
	}
	if cfg.TLS.ACME {
		d.certs, err = config.NewACMECertificates(cfg.TLS, paths.TLS, cfg.Hostname, st, log.With("component", "tls"))
	} else {
		d.certs, err = config.LoadCertificates(cfg.TLS, paths.TLS, cfg.Hostname, log.With("component", "tls"))
	}
	if err != nil {
		return nil, err
	}
	mda := delivery.NewMDA(delivery.StoreDirectory{Store: st}, log.With("component", "mda"))
	srs, rewrite, err := srsSetup(cfg, st)
	if err != nil {
		return nil, err
	}
	if srs != nil {
		mda.SetSRS(srs)
	}
	d.queue, err = delivery.Open(delivery.Options{
		Dir:      paths.Queue,
		Local:    mda,
		Logger:   log.With("component", "queue"),
		Workers:  cfg.Delivery.Workers,
		RetryMin: cfg.Delivery.RetryMin,
		RetryMax: cfg.Delivery.RetryMax,
		MaxAge:   cfg.Delivery.MaxAge,
		// Remote delivery (MX or smarthost), DSNs and delay notices.
		Remote:      newRemote(cfg, rewrite, log.With("component", "remote")),
		Hostname:    cfg.Hostname,
		DelayNotice: cfg.Delivery.DelayNotice,
	})
	if err != nil {
		return nil, err
	}
	mda.SetOutbound(d.queue) // Sieve redirects, vacation replies
	mx, blocklist, err := mxPolicy(cfg, st, d)
	if err != nil {
		return nil, err
	}
	mx.SRS = srs
	d.smtp, err = smtpd.New(smtpd.Options{
		Mode:                smtpd.MX,
		Hostname:            cfg.Hostname,
		TLS:                 d.certs.TLSConfig(),
		MaxMessageBytes:     cfg.SMTP.MaxMessageBytes,
		MaxRecipients:       cfg.SMTP.MaxRecipients,
		MaxLineLength:       cfg.SMTP.MaxLineLength,
		MaxConnections:      cfg.SMTP.MaxConnections,
		MaxConnectionsPerIP: cfg.SMTP.MaxConnectionsPerIP,
		MaxNonMailCommands:  cfg.SMTP.MaxNonMailCommands,
		ReadTimeout:         cfg.SMTP.ReadTimeout,
		WriteTimeout:        cfg.SMTP.WriteTimeout,
		Logger:              log,
		Policy:              mx,
		Queue:               d.queue,
		MaxErrors:           cfg.SMTP.MaxErrors,
		Blocklist:           blocklist,
	})
	if err != nil {
		return nil, err
	}
	d.logins = storage.NewLoginGuard(st, storage.LoginOptions{
		MaxFailures:           cfg.Auth.MaxFailures,
		MaxFailuresPerAddress: cfg.Auth.MaxFailuresPerAddress,
		Window:                cfg.Auth.FailureWindow,
		Delay:                 cfg.Auth.FailureDelay,
		MaxPasswordChecks:     cfg.Auth.MaxPasswordChecks,
	})
	// Bind everything before serving anything: a port in use fails the
	// start instead of leaving a half-running server.
	if err := d.bind("smtp", cfg.SMTP.Listen, d.smtp.Serve); err != nil {
		return nil, err
	}
	for _, setup := range []func() error{d.setupSubmission, d.setupIMAP, d.setupPOP3, d.setupHTTP, d.setupControl} {
		if err := setup(); err != nil {
			return nil, err
		}
	}
	for _, b := range d.bound {
		log.Info("listening", "proto", b.proto, "addr", b.l.Addr().String())
		go func() {
			if err := b.serve(b.l); err != nil {
				d.failed <- fmt.Errorf("%s %s: %w", b.proto, b.l.Addr(), err)
			}
		}()
	}
	d.bound = nil
	ok = true
	log.Info("ready")
	return d, nil
}

// bind listens on every address for proto; serve runs once start has bound
// all listeners.
func (d *daemon) bind(proto string, addrs []string, serve func(net.Listener) error) error {
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listen %s: %w", proto, addr, err)
		}
		d.bound = append(d.bound, boundListener{proto: proto, l: l, serve: serve})
	}
	return nil
}

// reload re-reads what can change without a restart: TLS certificates.
// Users, domains and aliases need no reload: every lookup reads yubin.db.
func (d *daemon) reload() {
	if err := d.certs.Reload(); err != nil {
		d.log.Error("reload TLS certificates; keeping the old ones", "err", err)
		return
	}
	d.log.Info("reloaded TLS certificates")
}

// shutdown stops accepting, lets sessions finish up to the configured
// timeout, then stops the queue (after its in-flight deliveries) and closes
// storage.
func (d *daemon) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.SMTP.ShutdownTimeout)
	defer cancel()
	var errs []error
	if d.smtp != nil {
		errs = append(errs, d.smtp.Shutdown(ctx))
	}
	for _, sd := range d.shutdowns {
		errs = append(errs, sd(ctx))
	}
	for _, c := range d.closers {
		errs = append(errs, c())
	}
	errs = append(errs, d.close())
	return errors.Join(errs...)
}

func (d *daemon) close() error {
	var errs []error
	for _, b := range d.bound {
		b.l.Close()
	}
	if d.queue != nil {
		start := time.Now()
		errs = append(errs, d.queue.Close())
		d.log.Debug("queue closed", "took", time.Since(start))
	}
	errs = append(errs, d.store.Close())
	return errors.Join(errs...)
}
