package main

import (
	"yubin/smtpd"
	"yubin/submission"
)

// setupSubmission binds the MSA listeners: 587 with STARTTLS and 465 with
// implicit TLS, both on the smtpd core with the submission policy.
func (d *daemon) setupSubmission() error {
	policy, err := submission.New(submission.Options{
		Hostname:  d.cfg.Hostname,
		Directory: d.store,
		Queue:     d.queue,
		Logger:    d.log.With("component", "submission"),
		// Per-user hourly limit against compromised accounts.
		MaxMessagesPerHour: d.cfg.Submission.MaxMessagesPerHour,
		Filters:            filterChain(d.cfg.Filters, d.cfg.Hostname, d.log.With("component", "filter")),
	})
	if err != nil {
		return err
	}
	d.submitter = policy // also serves `mailctl sendmail`
	cfg := d.cfg.Submission
	// 587 and 465 share their connection counts: a client cannot double
	// its allowance by opening both.
	limits := smtpd.NewLimits(d.cfg.SMTP.MaxConnections, d.cfg.SMTP.MaxConnectionsPerIP)
	for _, mode := range []struct {
		mode  smtpd.Mode
		proto string
		addrs []string
	}{
		{smtpd.Submission, "submission", cfg.Listen},
		{smtpd.SubmissionTLS, "submissions", cfg.ListenTLS},
	} {
		if len(mode.addrs) == 0 {
			continue
		}
		srv, err := smtpd.New(smtpd.Options{
			Mode:                mode.mode,
			Hostname:            d.cfg.Hostname,
			TLS:                 d.certs.TLSConfig(),
			MaxMessageBytes:     d.cfg.SMTP.MaxMessageBytes,
			MaxRecipients:       d.cfg.SMTP.MaxRecipients,
			MaxLineLength:       d.cfg.SMTP.MaxLineLength,
			Limits:              limits,
			MaxNonMailCommands:  d.cfg.SMTP.MaxNonMailCommands,
			ReadTimeout:         d.cfg.SMTP.ReadTimeout,
			WriteTimeout:        d.cfg.SMTP.WriteTimeout,
			Logger:              d.log,
			Policy:              policy,
			Auth:                d.logins,
			PlaintextOnLoopback: d.cfg.Auth.PlaintextOnLoopback,
			HideClientIP:        cfg.HideClientIP,
			Queue:               d.queue,
			MaxErrors:           d.cfg.SMTP.MaxErrors,
		})
		if err != nil {
			return err
		}
		if err := d.bind(mode.proto, mode.addrs, srv.Serve); err != nil {
			return err
		}
		d.shutdowns = append(d.shutdowns, srv.Shutdown)
	}
	return nil
}
