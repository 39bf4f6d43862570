package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yubin/admin"
	"yubin/admin/config"
	"yubin/admin/control"
)

// socketPath finds maild's control socket: data_dir/control.sock when
// only --data is given (where `maild --dev --data DIR` puts it), else the
// config's control.socket.
func (g *globals) socketPath() (string, error) {
	if g.configPath == "" && g.dataDir != "" {
		return filepath.Join(g.dataDir, "control.sock"), nil
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return "", err
	}
	return cfg.Control.Socket, nil
}

// control returns a client for the running maild.
func (g *globals) control() (*control.Client, error) {
	path, err := g.socketPath()
	if err != nil {
		return nil, err
	}
	return control.Dial(path), nil
}

// submitSocketPath finds maild's submit socket, which sendmail uses:
// data_dir/submit.sock when only --data is given, else the config's
// control.submit_socket. A user who may submit but not read the config
// (it can hold passwords) gets the default path.
func (g *globals) submitSocketPath() (string, error) {
	if g.configPath == "" && g.dataDir != "" {
		return filepath.Join(g.dataDir, "submit.sock"), nil
	}
	cfg, err := g.loadConfig()
	if errors.Is(err, fs.ErrPermission) && g.configPath == "" {
		return config.Default().Control.SubmitSocket, nil
	}
	if err != nil {
		return "", err
	}
	if cfg.Control.SubmitSocket == "" {
		return "", errors.New("local submission is off (control.submit_socket is empty)")
	}
	return cfg.Control.SubmitSocket, nil
}

func queueCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Inspect and act on a running maild's mail queue",
		Long: `queue talks to the running maild over its control socket (control.socket;
data_dir/control.sock for a dev server): the queue is live state, so maild
must be running.`,
	}
	cmd.AddCommand(queueListCommand(g), queueShowCommand(g), queueRetryCommand(g),
		queueActionCommand(g, "delete", "Remove a message from the queue without telling anyone", "deleted %s\n",
			(*control.Client).QueueDelete),
		queueActionCommand(g, "bounce", "Give up on a message now: its sender gets a delivery failure notice", "bounced %s\n",
			(*control.Client).QueueBounce),
	)
	return cmd
}

func queueListCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List queued messages with their pending recipients and last errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.control()
			if err != nil {
				return err
			}
			entries, err := c.Queue(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return g.printJSON(entries)
			}
			if len(entries) == 0 {
				fmt.Fprintln(g.out, "the queue is empty")
				return nil
			}
			rcpts := 0
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSIZE\tRECEIVED\tSENDER")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, admin.FormatSize(e.Size, false), e.ReceivedAt.UTC().Format(timeFormat), sender(e.From))
				for _, r := range e.Recipients {
					rcpts++
					fmt.Fprintf(tw, "  %s\t%s\n", r.Address, recipientState(r))
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s, %s queued\n", plural(len(entries), "message"), plural(rcpts, "recipient"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func sender(from string) string {
	if from == "" {
		return "<> (bounce)"
	}
	return from
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// recipientState is "attempts 2, next 10:01:00Z: 452 4.2.2 Mailbox full".
func recipientState(r control.QueueRecipient) string {
	s := plural(r.Attempts, "attempt")
	if !r.NextAttempt.IsZero() {
		if d := time.Until(r.NextAttempt); d > 0 {
			s += ", next in " + d.Round(time.Second).String()
		} else {
			s += ", next now"
		}
	}
	if r.LastError != "" {
		s += ": " + r.LastError
	}
	return s
}

func queueShowCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one queued message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.control()
			if err != nil {
				return err
			}
			e, err := c.QueueShow(cmd.Context(), strings.ToUpper(args[0]))
			if err != nil {
				return err
			}
			if asJSON {
				return g.printJSON(e)
			}
			fmt.Fprintf(g.out, "id:        %s\nsender:    %s\nreceived:  %s\nsize:      %s (%d bytes)\n",
				e.ID, sender(e.From), e.ReceivedAt.UTC().Format(timeFormat), admin.FormatSize(e.Size, false), e.Size)
			if e.AuthUser != "" {
				fmt.Fprintf(g.out, "submitted: by %s\n", e.AuthUser)
			}
			if e.DelayNotified {
				fmt.Fprintln(g.out, "delay notice sent to the sender")
			}
			fmt.Fprintln(g.out, "recipients:")
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			for _, r := range e.Recipients {
				state := r.State
				if state == "" || state == "pending" {
					state = "pending, " + recipientState(r)
				} else if r.LastError != "" {
					state += ": " + r.LastError
				}
				fmt.Fprintf(tw, "  %s\t%s\n", r.Address, state)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func queueRetryCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry ID|--all",
		Short: "Try to deliver a queued message (or every one) now",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return fmt.Errorf("give a queue ID or --all")
			}
			c, err := g.control()
			if err != nil {
				return err
			}
			if all {
				if err := c.QueueRetry(cmd.Context(), ""); err != nil {
					return err
				}
				fmt.Fprintln(g.out, "retrying every queued message now")
				return nil
			}
			id := strings.ToUpper(args[0])
			if err := c.QueueRetry(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "retrying %s now\n", id)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every queued message")
	return cmd
}

func queueActionCommand(g *globals, name, short, done string, op func(*control.Client, context.Context, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.control()
			if err != nil {
				return err
			}
			id := strings.ToUpper(args[0])
			if err := op(c, cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(g.out, done, id)
			return nil
		},
	}
}

func routeCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "route ADDRESS",
		Short: "Show how the running maild routes mail to ADDRESS",
		Long: `route asks the running maild how it delivers mail for ADDRESS: to which
local mailboxes (users, aliases, plus-addressing, catch-alls) and which
remote addresses, using the daemon's own resolver.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.control()
			if err != nil {
				return err
			}
			r, err := c.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return g.printJSON(r)
			}
			if !r.LocalDomain {
				fmt.Fprintf(g.out, "%s: not a local domain: remote delivery\n", r.Address)
				return nil
			}
			fmt.Fprintf(g.out, "%s:\n", r.Address)
			tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
			for _, t := range r.Targets {
				kind := "remote delivery"
				if t.Local {
					kind = "local mailbox"
				}
				fmt.Fprintf(tw, "  %s\t%s\n", t.Address, kind)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
