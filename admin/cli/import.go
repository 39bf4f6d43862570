package cli

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"yubin/admin/importer"
	"yubin/storage"
)

func importCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Copy mail into an account from another IMAP server, mbox files or a Maildir",
		Long: `Copy mail into an account from another server (IMAP), mbox files or a
Maildir tree. Folders are mapped to Yubin's Sent, Drafts, Trash, Junk and
Archive where the source marks them or names them the usual way; flags and
received dates are kept. Imports are resumable: running the same command
again copies only what is new. maild may keep running.`,
	}
	cmd.AddCommand(importIMAPCommand(g), importMboxCommand(g), importMaildirCommand(g))
	return cmd
}

// importFlags are shared by the import subcommands.
type importFlags struct {
	to      string
	folders []string
	exclude []string
}

func (f *importFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.to, "to", "", "the Yubin account to copy into (required)")
	cmd.Flags().StringSliceVar(&f.folders, "folders", nil, "copy only these source folders (names or shell patterns; subfolders included)")
	cmd.Flags().StringSliceVar(&f.exclude, "exclude", nil, "skip source folders matching these names or patterns")
	cmd.MarkFlagRequired("to")
}

// runImport opens the store, builds the shared options and prints the
// summary; run does the import.
func (g *globals) runImport(cmd *cobra.Command, f *importFlags, run func(importer.Options) (importer.Summary, error)) error {
	return g.withStore(func(st *storage.Store) error {
		user, err := storage.ParseAddress(f.to)
		if err != nil {
			return err
		}
		if _, err := st.User(cmd.Context(), user.String()); err != nil {
			return fmt.Errorf("--to %s: %w (add it first with: mailctl user add %s)", f.to, err, f.to)
		}
		bar := newProgress(g.out)
		sum, err := run(importer.Options{
			Store: st, User: user, Progress: bar, Errors: cmd.ErrOrStderr(),
			Folders: f.folders, Exclude: f.exclude,
		})
		bar.finish()
		fmt.Fprintf(g.out, "imported into %s: %s\n", user, sum)
		if err == nil && sum.Errors > 0 {
			err = fmt.Errorf("%d messages could not be copied (see above); run the command again to retry later ones", sum.Errors)
		}
		return err
	})
}

func importIMAPCommand(g *globals) *cobra.Command {
	var f importFlags
	var fromURL, login string
	var fromStdin, insecure, plaintext bool
	cmd := &cobra.Command{
		Use:   "imap --from imaps://USER@HOST[:PORT] --to ADDRESS",
		Short: "Copy every folder of an account on another IMAP server",
		Long: `Copy every folder of an account on another IMAP server (Exchange,
Gmail, Dovecot, Courier, ...) into a Yubin account, with flags and received
dates. imaps:// uses TLS (port 993), imap:// STARTTLS (port 143).

The password is read from a no-echo prompt or, with --password-stdin, from
the first line of standard input. For Gmail and Microsoft 365 use an app
password, and enable IMAP access on the old account.

Resumable: the source folder's UIDVALIDITY and the last UID copied are
recorded after each message, so an interrupted or repeated import copies
only what is new; if the source renumbered a folder, messages already
copied are recognised by Message-ID, date and size. Gmail's "All Mail",
"Starred" and "Important" are skipped (their messages are in other folders).`,
		Example: `  mailctl import imap --from imaps://ann@mail.old.example --to ann@example.com
  echo "$PW" | mailctl import imap --from imaps://ann%40example.com@outlook.office365.com --to ann@example.com --password-stdin --exclude 'Calendar*,Contacts,Tasks,Notes,Journal'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, _, err := importer.ParseSource(fromURL); err != nil {
				return err
			}
			pw, err := readSecret(cmd, fromStdin, "Password for "+fromURL+": ")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return g.runImport(cmd, &f, func(o importer.Options) (importer.Summary, error) {
				var tlsConfig *tls.Config
				if insecure {
					tlsConfig = &tls.Config{InsecureSkipVerify: true}
				}
				return importer.IMAP(ctx, importer.IMAPOptions{Options: o, URL: fromURL, Login: login, Password: pw,
					TLSConfig: tlsConfig, AllowPlaintext: plaintext})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&fromURL, "from", "", "the old server: imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT] (required)")
	cmd.Flags().StringVar(&login, "user", "", "login name on the old server (instead of the one in --from)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the old server's password from the first line of stdin")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "accept any TLS certificate (an old server with a self-signed one)")
	cmd.Flags().BoolVar(&plaintext, "allow-plaintext", false, "with imap://, log in without STARTTLS (trusted network only)")
	cmd.MarkFlagRequired("from")
	return cmd
}

func importMboxCommand(g *globals) *cobra.Command {
	var f importFlags
	var folder string
	var mboxo bool
	cmd := &cobra.Command{
		Use:   "mbox FILE... --to ADDRESS",
		Short: "Copy the messages of mbox files (Thunderbird, mutt, Google Takeout)",
		Long: `Copy the messages of mbox files into an account. Without --folder each file
goes to a folder named after it ("Sent.mbox" to Sent, "Inbox" to INBOX).
Flags come from Status, X-Status and X-Keywords lines; the received date
from the "From " line. mboxrd escaping is undone (one '>' removed from lines
matching ^>+From ); --mboxo removes it only from ">From " lines. A "From "
line starts a new message only after an empty line and with a date, so body
lines starting with "From" stay in their message. Re-running resumes after
the last message copied.`,
		Example: "  mailctl import mbox ~/Mail/Inbox ~/Mail/Sent --to ann@example.com\n  mailctl import mbox takeout.mbox --to ann@example.com --folder Archive/Gmail",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return g.runImport(cmd, &f, func(o importer.Options) (importer.Summary, error) {
				return importer.Mbox(ctx, importer.MboxOptions{Options: o, Files: args, Folder: folder, Mboxo: mboxo})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&folder, "folder", "", `target folder ("/" for hierarchy); default: from each file's name`)
	cmd.Flags().BoolVar(&mboxo, "mboxo", false, "the files use mboxo escaping (only \">From \" was escaped)")
	return cmd
}

func importMaildirCommand(g *globals) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "maildir DIR --to ADDRESS",
		Short: "Copy a Maildir or Maildir++ tree (Dovecot, Courier, Postfix)",
		Long: `Copy a Maildir (cur/ new/ tmp/) and its Maildir++ folders (.Sent, .Work.Projects)
into an account, with flags from the file names, Dovecot keywords and the
received date from each file's time. Messages copied before (same folder
and file name) are skipped, so it can be re-run for a final sync.`,
		Example: "  mailctl import maildir /srv/old/vmail/example.com/ann/Maildir --to ann@example.com",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return g.runImport(cmd, &f, func(o importer.Options) (importer.Summary, error) {
				return importer.Maildir(ctx, importer.MaildirOptions{Options: o, Dir: args[0]})
			})
		},
	}
	f.register(cmd)
	return cmd
}

// progress draws a bar of messages with the bytes copied when out is a
// terminal, and nothing otherwise (cron, pipes, tests).
type progress struct {
	bar    *progressbar.ProgressBar
	total  int64
	bytes  int64
	folder string
}

func newProgress(out io.Writer) *progress {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("msg"),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)
	return &progress{bar: bar}
}

func (p *progress) AddTotal(n int, size int64) {
	if p.bar == nil || n == 0 {
		return
	}
	p.total += int64(n)
	p.bar.ChangeMax64(p.total)
}

func (p *progress) Done(size int64) {
	if p.bar == nil {
		return
	}
	p.bytes += size
	p.describe()
	p.bar.Add(1)
}

func (p *progress) Folder(name string) {
	p.folder = name
	if p.bar != nil {
		p.describe()
	}
}

func (p *progress) describe() {
	name := p.folder
	if len(name) > 24 {
		name = "…" + name[len(name)-23:]
	}
	p.bar.Describe(fmt.Sprintf("%-24s %9s", name, formatMB(p.bytes)))
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

func formatMB(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
