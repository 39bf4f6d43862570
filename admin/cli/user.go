package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"yubin/admin"
	"yubin/storage"
)

func userCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage mail users (virtual accounts)"}
	cmd.AddCommand(userAddCommand(g), userListCommand(g), userRemoveCommand(g), userPasswdCommand(g), userQuotaCommand(g))
	return cmd
}

func userAddCommand(g *globals) *cobra.Command {
	var fromStdin bool
	var quota string
	cmd := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a user in a local domain and create its mailbox",
		Long: `Add a user in a local domain and create its Maildir with the folders
Sent, Drafts, Trash, Junk and Archive. The password is read from a no-echo
prompt, or from the first line of standard input with --password-stdin.`,
		Example: "  echo 's3cret-pass' | mailctl --data ./var user add alice@example.test --password-stdin --quota 2G",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := admin.ParseSize(quota)
			if err != nil {
				return err
			}
			return g.withStore(func(st *storage.Store) error {
				// Check before prompting, so a typo fails fast.
				addr, err := storage.ParseAddress(args[0])
				if err != nil {
					return err
				}
				if err := storage.ValidAccountLocal(addr.Local); err != nil {
					return err
				}
				if ok, err := st.IsLocalDomain(cmd.Context(), addr.Domain); err != nil {
					return err
				} else if !ok {
					return fmt.Errorf("domain %s is not a local domain (add it with: mailctl domain add %s): %w", addr.Domain, addr.Domain, storage.ErrNoSuchDomain)
				}
				pw, err := readPassword(cmd, fromStdin)
				if err != nil {
					return err
				}
				u, err := st.AddUser(cmd.Context(), args[0], pw, q)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.out, "added user %s (quota %s)\n", u.Address, admin.FormatSize(u.QuotaBytes, true))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	cmd.Flags().StringVar(&quota, "quota", "0", "mailbox quota, e.g. 500M or 2G; 0 = unlimited")
	return cmd
}

func userListCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [DOMAIN]",
		Short: "List users, with quota and current usage",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			domain := ""
			if len(args) == 1 {
				domain = args[0]
			}
			return g.withStore(func(st *storage.Store) error {
				users, err := admin.ListUsers(cmd.Context(), st, domain)
				if err != nil {
					return err
				}
				if asJSON {
					return g.printJSON(users)
				}
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tENABLED\tQUOTA\tUSED\tCREATED")
				for _, u := range users {
					fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", u.Address, u.Enabled, admin.FormatSize(u.QuotaBytes, true), admin.FormatSize(u.UsedBytes, false), u.Created.UTC().Format(timeFormat))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func userRemoveCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "Remove a user (its Maildir stays on disk)",
		Long: `Remove a user from the directory. Mail to the address is refused from now
on. The Maildir stays on disk under the data directory's mail/ folder so
nothing is lost by mistake; delete it by hand when it is no longer needed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				if err := st.RemoveUser(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "removed user %s (Maildir kept)\n", args[0])
				return nil
			})
		},
	}
}

func userPasswdCommand(g *globals) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd ADDRESS",
		Short: "Set a user's password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				if _, err := st.User(cmd.Context(), args[0]); err != nil {
					return err
				}
				pw, err := readPassword(cmd, fromStdin)
				if err != nil {
					return err
				}
				if err := st.SetPassword(cmd.Context(), args[0], pw); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "password changed for %s\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

func userQuotaCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "quota ADDRESS SIZE",
		Short:   "Set a user's mailbox quota (0 = unlimited)",
		Example: "  mailctl user quota alice@example.com 5G",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := admin.ParseSize(args[1])
			if err != nil {
				return err
			}
			return g.withStore(func(st *storage.Store) error {
				if err := st.SetQuota(cmd.Context(), args[0], q); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "quota of %s set to %s\n", args[0], admin.FormatSize(q, true))
				return nil
			})
		},
	}
}
