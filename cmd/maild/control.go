package main

import (
	"context"
	"errors"
	"io"

	"yubin/admin/control"
	"yubin/delivery"
)

// setupControl binds the control socket (control.socket, 0600) that
// mailctl's live commands use (queue, route, status), and the submit
// socket (control.submit_socket, 0660, group yubin-submit) that sendmail
// uses and that accepts nothing but messages. They are served with the
// other listeners and closed at shutdown.
func (d *daemon) setupControl() error {
	l, err := control.Listen(d.cfg.Control.Socket, control.ControlMode, "")
	if err != nil {
		return err
	}
	opts := control.Options{
		Queue:           d.queue,
		Submitter:       d.controlSubmitter(),
		Resolver:        d.store,
		Logger:          d.log.With("component", "control"),
		Version:         version,
		Hostname:        d.cfg.Hostname,
		Listeners:       d.listeners(),
		Certificate:     d.certs.Leaf,
		MTASTSPolicyID:  mtastsPolicyID(d.cfg),
		MaxMessageBytes: d.cfg.SMTP.MaxMessageBytes,
	}
	srv := control.NewServer(opts)
	d.bound = append(d.bound, boundListener{proto: "control", l: l, serve: srv.Serve})
	d.closers = append(d.closers, srv.Close)
	if d.cfg.Control.SubmitSocket == "" {
		return nil
	}
	sl, err := control.Listen(d.cfg.Control.SubmitSocket, control.SubmitMode, d.cfg.Control.SubmitGroup)
	if err != nil {
		return err
	}
	submitOpts := control.Options{
		Submitter:       opts.Submitter,
		Logger:          opts.Logger,
		Version:         version,
		Hostname:        d.cfg.Hostname,
		MaxMessageBytes: d.cfg.SMTP.MaxMessageBytes,
		SubmitOnly:      true,
	}
	ssrv := control.NewServer(submitOpts)
	d.bound = append(d.bound, boundListener{proto: "submit", l: sl, serve: ssrv.Serve})
	d.closers = append(d.closers, ssrv.Close)
	return nil
}

// controlSubmitter hands sendmail submissions to d.submitter, read at each
// call so the order of the setup steps does not matter.
func (d *daemon) controlSubmitter() control.Submitter {
	return submitterFunc(func(ctx context.Context, from string, to []string, msg io.Reader) (delivery.ID, error) {
		if d.submitter == nil {
			return "", delivery.Temporaryf([3]int{4, 3, 2}, "submission not available", errors.New("maild has no submitter"))
		}
		return d.submitter.Submit(ctx, from, to, msg)
	})
}

type submitterFunc func(ctx context.Context, from string, to []string, msg io.Reader) (delivery.ID, error)

func (f submitterFunc) Submit(ctx context.Context, from string, to []string, msg io.Reader) (delivery.ID, error) {
	return f(ctx, from, to, msg)
}
