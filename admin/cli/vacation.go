package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"yubin/storage"
)

func vacationCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vacation",
		Short: "Manage users' out-of-office replies",
		Long: `While a user's vacation reply is on, mail addressed to the user (in To or
Cc) gets an automatic reply, at most once per sender every --days days.
Mailing lists, bulk mail, automatic messages and bounces get none
(RFC 5230, RFC 3834). Replies leave through the outbound queue.`,
	}
	cmd.AddCommand(vacationSetCommand(g), vacationShowCommand(g), vacationOffCommand(g))
	return cmd
}

// parseUntil reads --until: a date (replies stop at the end of that day,
// local time) or an RFC 3339 time.
func parseUntil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("--until %q: want YYYY-MM-DD or an RFC 3339 time", s)
	}
	return d.AddDate(0, 0, 1), nil
}

func vacationSetCommand(g *globals) *cobra.Command {
	var subject, message, until string
	var days int
	cmd := &cobra.Command{
		Use:   "set USER",
		Short: "Turn USER's vacation reply on (or change it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := parseUntil(until)
			if err != nil {
				return err
			}
			if !u.IsZero() && !u.After(time.Now()) {
				return fmt.Errorf("--until %s is in the past", until)
			}
			return g.withStore(func(st *storage.Store) error {
				v := storage.Vacation{Subject: subject, Message: strings.ReplaceAll(message, `\n`, "\n"), Until: u, Days: days}
				if err := st.SetVacation(cmd.Context(), args[0], v); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "vacation reply of %s is on\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&subject, "subject", "", `subject of the reply (default "Auto: " + the original subject)`)
	cmd.Flags().StringVar(&message, "message", "", `text of the reply (\n starts a new line)`)
	cmd.Flags().StringVar(&until, "until", "", "last day of replies, YYYY-MM-DD (or an RFC 3339 time replies stop at)")
	cmd.Flags().IntVar(&days, "days", storage.DefaultVacationDays, "reply to one sender at most once in this many days")
	cmd.MarkFlagRequired("message")
	return cmd
}

func vacationShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show USER",
		Short: "Print USER's vacation reply",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				v, err := st.Vacation(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				until := "-"
				if !v.Until.IsZero() {
					until = v.Until.UTC().Format(timeFormat)
				}
				state := "on"
				if !v.Active(time.Now()) {
					state = "expired"
				}
				fmt.Fprintf(g.out, "state:   %s\nsubject: %s\nuntil:   %s\ndays:    %d\nset:     %s\n\n%s\n",
					state, v.Subject, until, v.Days, v.Created.UTC().Format(timeFormat), v.Message)
				return nil
			})
		},
	}
}

func vacationOffCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "off USER",
		Short: "Turn USER's vacation reply off",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				if err := st.RemoveVacation(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "vacation reply of %s is off\n", args[0])
				return nil
			})
		},
	}
}
