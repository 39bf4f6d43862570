package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"yubin/storage"
)

func verifyCommand(g *globals) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "verify [ADDRESS]",
		Short: "Check each account's index against its Maildir (and repair it)",
		Long: `Check the message index of one account, or of every account, against the
files in its Maildir: indexed messages whose file is missing, files the
index does not know, files renamed behind its back, and size mismatches
(a truncated file, or an index size that is not the file's). The check only
reads; maild may run.

--repair fixes what a rescan can fix: missing files leave the index,
unknown files get UIDs, names and sizes are corrected, a corrupt index is
rebuilt. A truncated message cannot be repaired: restore it from a backup.`,
		Example: "  mailctl verify\n  mailctl verify ann@example.com --repair",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				ctx := cmd.Context()
				var users []storage.Address
				if len(args) == 1 {
					u, err := st.User(ctx, args[0])
					if err != nil {
						return err
					}
					users = append(users, u.Address)
				} else {
					all, err := st.Users(ctx, "")
					if err != nil {
						return err
					}
					for _, u := range all {
						users = append(users, u.Address)
					}
				}
				left := 0
				for _, u := range users {
					problems, err := st.VerifyAccount(ctx, u)
					if err != nil {
						return fmt.Errorf("verify %s: %w", u, err)
					}
					if len(problems) == 0 {
						fmt.Fprintf(g.out, "%s: ok\n", u)
						continue
					}
					for _, p := range problems {
						fmt.Fprintf(g.out, "%s: %s\n", u, p)
					}
					if !repair {
						left += len(problems)
						continue
					}
					if err := st.RepairAccount(ctx, u); err != nil {
						return fmt.Errorf("repair %s: %w", u, err)
					}
					after, err := st.VerifyAccount(ctx, u)
					if err != nil {
						return fmt.Errorf("verify %s: %w", u, err)
					}
					for _, p := range after {
						fmt.Fprintf(g.out, "%s: not repaired: %s\n", u, p)
					}
					left += len(after)
					fmt.Fprintf(g.out, "%s: repaired %d of %d problems\n", u, len(problems)-len(after), len(problems))
				}
				if left > 0 {
					hint := ""
					if !repair {
						hint = " (run with --repair to fix what a rescan can fix)"
					}
					return fmt.Errorf("%d problems in %d accounts%s", left, len(users), hint)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "fix what a rescan can fix")
	return cmd
}
