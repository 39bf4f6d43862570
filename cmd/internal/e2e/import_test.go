package e2e

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/cmd/internal/testpeers"
)

// startDovecotIMAP starts Dovecot serving IMAP (plaintext, loopback) on
// maildir for user "old" with password "old-pw", its Archives folder
// marked \Archive. The directories above maildir are made traversable.
func startDovecotIMAP(t testing.TB, maildir string) *dovecot {
	t.Helper()
	traversable(filepath.Dir(maildir))
	return startDovecotPeer(t, testpeers.DovecotOptions{Maildir: maildir, IMAP: true, Password: "old-pw", Config: `namespace inbox {
  inbox = yes
  separator = /
  mailbox Archives {
    special_use = \Archive
  }
}
`})
}

var (
	day1 = time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	day2 = time.Date(2020, 8, 9, 10, 11, 12, 0, time.UTC)
)

// fillOldMaildir writes a Maildir++ as an old Dovecot server keeps it:
// folders (one with a special-use name, one marked \Archive in the
// config, a nested one), flags, a keyword, received dates as mtimes.
func fillOldMaildir(t *testing.T, root string) {
	t.Helper()
	write := func(rel, body string, mtime time.Time) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	for _, d := range []string{"", ".Sent Items", ".Archives", ".Customers.ACME", ".Deleted Items"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			os.MkdirAll(filepath.Join(root, d, sub), 0o755)
		}
	}
	msg := func(subject string) string {
		return fmt.Sprintf("From: boss@old.test\nTo: ann@old.test\nSubject: %s\nMessage-ID: <%s@old.test>\nDate: Mon, 4 Mar 2019 05:06:07 +0000\n\nbody of %s\n", subject, strings.ReplaceAll(subject, " ", "-"), subject)
	}
	write("cur/1551675967.M1P1.old:2,Sa", msg("inbox one"), day1)
	write("cur/1551675968.M2P1.old:2,FR", msg("inbox two"), day2)
	write("new/1551675969.M3P1.old", msg("inbox three"), day2)
	write("dovecot-keywords", "0 $Important\n", day1)
	write(".Sent Items/cur/1551675970.M4P1.old:2,S", msg("sent one"), day1)
	write(".Archives/cur/1551675971.M5P1.old:2,S", msg("archived one"), day1)
	write(".Customers.ACME/cur/1551675972.M6P1.old:2,", msg("acme one"), day2)
	write(".Deleted Items/cur/1551675973.M7P1.old:2,ST", msg("deleted one"), day1)
	exec.Command("chown", "-R", fmt.Sprint(testpeers.Nobody)+":"+fmt.Sprint(testpeers.Nobody), root).Run()
}

type fetched struct {
	subject string
	flags   []string
	date    time.Time
}

// imapFolder fetches subject, flags and internal date of every message
// in folder from maild.
func imapFolder(t *testing.T, c *imapclient.Client, folder string) []fetched {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("select %s: %v", folder, err)
	}
	// 1:*, not 1:9: a sequence number above the message count is BAD
	// (RFC 9051 §9 seq-number; Dovecot answers so too).
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, InternalDate: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", folder, err)
	}
	var out []fetched
	for _, m := range msgs {
		f := fetched{subject: m.Envelope.Subject, date: m.InternalDate.UTC()}
		for _, fl := range m.Flags {
			if fl != `\Recent` {
				f.flags = append(f.flags, string(fl))
			}
		}
		slices.Sort(f.flags)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b fetched) int { return strings.Compare(a.subject, b.subject) })
	return out
}

// TestImportFromDovecotIMAP pulls a whole account from a real Dovecot
// over IMAP while maild runs, then re-runs the import (nothing new), adds
// a message at the source and runs it a third time (just that one).
func TestImportFromDovecotIMAP(t *testing.T) {
	t.Parallel()
	needTool(t, "dovecot")
	needTool(t, "doveadm")
	needRoot(t, "run Dovecot's services as nobody")
	src := filepath.Join(t.TempDir(), "old")
	fillOldMaildir(t, src)
	d := startDovecotIMAP(t, src)
	s := startServer(t, "")
	s.addUser("ann@acme.test")

	imp := func() string {
		t.Helper()
		out, errOut, err := s.mailctl("old-pw\n", "import", "imap", "--from", "imap://old@"+d.Addr(), "--to", "ann@acme.test",
			"--password-stdin", "--allow-plaintext", "--exclude", "Junk")
		if err != nil {
			t.Fatalf("import: %v\n%s%s", err, out, errOut)
		}
		if strings.Contains(out, "\r") || strings.Contains(out, "\x1b") {
			t.Errorf("progress bar drawn although stdout is not a terminal: %q", out)
		}
		return out
	}
	out := imp()
	if !regexp.MustCompile(`\d+ folders, 7 messages, .* copied, 0 skipped, 0 errors`).MatchString(out) {
		t.Fatalf("first import summary: %s", out)
	}
	t.Logf("first import: %s", strings.TrimSpace(out))

	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("ann@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	want := map[string][]fetched{
		"INBOX": {
			{"inbox one", []string{"$Important", `\Seen`}, day1},
			{"inbox three", nil, day2},
			{"inbox two", []string{`\Answered`, `\Flagged`}, day2},
		},
		"Sent":           {{"sent one", []string{`\Seen`}, day1}},
		"Archive":        {{"archived one", []string{`\Seen`}, day1}},
		"Customers/ACME": {{"acme one", nil, day2}},
		"Trash":          {{"deleted one", []string{`\Deleted`, `\Seen`}, day1}},
	}
	for folder, w := range want {
		got := imapFolder(t, c, folder)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s over IMAP:\n got %v\nwant %v", folder, got, w)
		}
	}

	out = imp()
	if !strings.Contains(out, " 0 messages") || !strings.Contains(out, "7 skipped") {
		t.Errorf("second import copied again: %s", out)
	}
	d.doveadm("From: new@old.test\nSubject: late arrival\nMessage-ID: <late@old.test>\n\nlate\n", "save", "-u", "old", "-m", "Customers/ACME")
	out = imp()
	if !strings.Contains(out, " 1 messages") {
		t.Errorf("third import: %s", out)
	}
	got := imapFolder(t, c, "Customers/ACME")
	if len(got) != 2 || got[1].subject != "late arrival" {
		t.Errorf("Customers/ACME after the third import: %v", got)
	}
	if out, _, err := s.mailctl("", "verify", "ann@acme.test"); err != nil {
		t.Errorf("verify after import: %v\n%s", err, out)
	}
}

// BenchmarkImport measures importing a larger mailbox (from a real
// Dovecot over IMAP and from a Maildir) and backing it up. Each iteration
// imports YUBIN_IMPORT_MESSAGES messages (default 2000) of about 10 KB:
//
//	go test -run '^$' -bench Import -benchtime 1x ./cmd/internal/e2e/
func BenchmarkImport(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("YUBIN_IMPORT_MESSAGES"))
	if n <= 0 {
		n = 2000
	}
	needTool(b, "dovecot")
	needRoot(b, "Dovecot's services run as nobody")
	src := filepath.Join(b.TempDir(), "old")
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do.\n", 150) // ~10 KB
	for i := range n {
		folder := []string{"", ".Sent", ".Archives"}[i%3]
		p := filepath.Join(src, folder, "cur", fmt.Sprintf("%d.M%dP1.old:2,S", 1500000000+i, i))
		for _, d := range []string{filepath.Dir(p), filepath.Join(src, folder, "new"), filepath.Join(src, folder, "tmp")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("Subject: m%d\nMessage-ID: <m%d@old.test>\n\n%s", i, i, body)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	exec.Command("chown", "-R", fmt.Sprint(testpeers.Nobody)+":"+fmt.Sprint(testpeers.Nobody), src).Run()
	d := startDovecotIMAP(b, src)
	s := startServer(b, "")
	b.ResetTimer()
	for i := range b.N {
		imapUser, dirUser := fmt.Sprintf("ann%d@acme.test", i), fmt.Sprintf("bob%d@acme.test", i)
		s.addUser(imapUser)
		s.addUser(dirUser)
		timed := func(what string, stdin string, args ...string) {
			start := time.Now()
			out := s.mustMailctl(stdin, args...)
			el := time.Since(start)
			b.ReportMetric(float64(n)/el.Seconds(), what+"-msgs/s")
			b.Logf("%s: %s (wall %s)", what, strings.TrimSpace(out), el)
		}
		timed("imap-import", "old-pw\n", "import", "imap", "--from", "imap://old@"+d.Addr(), "--to", imapUser, "--password-stdin", "--allow-plaintext")
		timed("maildir-import", "", "import", "maildir", src, "--to", dirUser)
		timed("backup", "", "backup", filepath.Join(b.TempDir(), "b"))
		timed("backup-copy", "", "backup", "--copy", filepath.Join(b.TempDir(), "c"))
	}
}
