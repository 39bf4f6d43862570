package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"yubin/admin/importer"
	"yubin/storage"
)

func exportCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export ADDRESS DIR",
		Short: "Write every folder of an account to DIR as Maildir++ or mbox files",
		Long: `Write every folder of an account to DIR, so mail can move to any other
server or client. --format maildir writes a Maildir++ tree (DIR is INBOX,
DIR/.Sent is Sent) with flags in the file names and received dates as file
times, as Dovecot reads it; --format mbox writes DIR/INBOX.mbox,
DIR/Sent.mbox, DIR/A/B.mbox (mboxrd) with flags in Status/X-Status lines.
maild may keep running.`,
		Example: "  mailctl export ann@example.com /tmp/ann --format mbox",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return g.withStore(func(st *storage.Store) error {
				user, err := storage.ParseAddress(args[0])
				if err != nil {
					return err
				}
				bar := newProgress(g.out)
				sum, err := importer.Export(ctx, importer.ExportOptions{Store: st, User: user, Format: format, Dir: args[1], Progress: bar})
				bar.finish()
				if err != nil {
					return err
				}
				fmt.Fprintf(g.out, "exported %s to %s (%s): %s\n", user, args[1], format, sum)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", importer.FormatMaildir, "maildir or mbox")
	return cmd
}
