package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"yubin/admin/backup"
)

func backupCommand(g *globals) *cobra.Command {
	var copyFiles bool
	cmd := &cobra.Command{
		Use:   "backup DIR",
		Short: "Take a consistent backup of the whole server while maild runs",
		Long: `Take a consistent backup of the data directory (directory database, queue,
every Maildir and account index, certificates) into DIR while maild keeps
serving. The databases are copied with SQLite's online backup API; message
files, which never change once written, are hard-linked when DIR is on the
same file system (copy DIR off-site with rsync -aH or tar) and copied
otherwise. DIR/manifest.json lists every file with its SHA-256.

If DIR already holds a backup, only new messages are copied and deleted
ones removed (incremental). Every message acknowledged before the backup
started is in it.`,
		Example: "  mailctl backup /srv/backup/yubin && rsync -aH --delete /srv/backup/yubin/ offsite:yubin/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := backup.Backup(ctx, backup.Options{DataDir: cfg.DataDir, Dir: args[0], Copy: copyFiles, Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "backup of %s in %s: %s\n", cfg.DataDir, args[0], rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&copyFiles, "copy", false, "copy message files even when they could be hard-linked")
	return cmd
}

func restoreCommand(g *globals) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "restore DIR",
		Short: "Restore a backup into a new, empty data directory",
		Long: `Restore the backup in DIR into the data directory (--data, or data_dir of
the config), which must be missing or empty: stop maild first and move a
damaged data directory aside. Every file is checked against the manifest's
SHA-256 while it is copied. Run as root into a data directory owned by the
yubin user, every file is given to that user.

With --check, only read the backup and check every checksum.`,
		Example: "  install -d -o yubin -g yubin -m 0700 /var/lib/yubin && mailctl restore /srv/backup/yubin && mailctl verify",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if check {
				m, problems, err := backup.Check(ctx, args[0])
				if err != nil {
					return err
				}
				for _, p := range problems {
					fmt.Fprintf(g.out, "%s: %s\n", p.Path, p.Detail)
				}
				if len(problems) > 0 {
					return fmt.Errorf("backup %s is damaged: %d files differ from the manifest", args[0], len(problems))
				}
				fmt.Fprintf(g.out, "backup %s of %s (taken %s): %d entries, all checksums match\n", args[0], m.DataDir, m.Finished.Format("2006-01-02 15:04:05 MST"), len(m.Files))
				return nil
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			rep, err := backup.Restore(ctx, backup.RestoreOptions{Dir: args[0], DataDir: cfg.DataDir})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "restored %s into %s: %d accounts, %d files, %.1f MB in %s\n", args[0], cfg.DataDir, rep.Accounts, rep.Files, float64(rep.Bytes)/1e6, rep.Elapsed.Round(1e6))
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "only check the backup's checksums; restore nothing")
	return cmd
}
