package e2e

import (
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dovecot is a private Dovecot instance (no listeners, only doveadm)
// pointed at one Maildir, started and stopped by the test.
type dovecot struct {
	t    *testing.T
	conf string
}

const nobody = 65534

func startDovecot(t *testing.T, maildir string) *dovecot {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"run", "state", "home"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "home"), nobody, nobody)
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
protocols =
mail_location = maildir:%[2]s
first_valid_uid = 1
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[1]s/home
}
`, dir, maildir, nobody)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	runDovecot(t, dir, conf)
	return &dovecot{t: t, conf: conf}
}

// runDovecot starts Dovecot with conf (its base dir is dir) and stops it
// when the test ends, printing its log if the test failed. Dovecot
// daemonizes; its output goes to a file, not to pipes its background
// process would keep open.
func runDovecot(t *testing.T, dir, conf string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, "start.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	start := exec.Command("dovecot", "-c", conf)
	start.Stdout, start.Stderr = out, out
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("start dovecot: %v\n%s", err, b)
	}
	t.Cleanup(func() {
		exec.Command("doveadm", "-c", conf, "stop").Run()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot log:\n%s", log)
		}
	})
}

func (d *dovecot) doveadm(stdin string, args ...string) string {
	d.t.Helper()
	cmd := exec.Command("doveadm", append([]string{"-c", d.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("doveadm %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestDovecotInterop points Dovecot at a Maildir that Yubin wrote and
// checks it sees the same messages and flags; then has Dovecot write into
// the Maildir and checks Yubin serves that mail over IMAP.
func TestDovecotInterop(t *testing.T) {
	t.Parallel()
	needTool(t, "dovecot")
	needTool(t, "doveadm")
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the Maildir to Dovecot's unprivileged user")
	}
	// A data directory owned by nobody: maild, running as root, gives
	// every file it creates to the data directory's owner, as it does for
	// the yubin user in production, so Dovecot (as nobody) can use them.
	base := t.TempDir()
	for p := base; p != "/" && p != "/tmp"; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	dataDir := filepath.Join(base, "data")
	os.Mkdir(dataDir, 0o750)
	os.Chown(dataDir, nobody, nobody)
	s := startServer(t, dataDir)
	s.addUser("yuri@acme.test")
	for i := range 3 {
		msg := fmt.Sprintf("Subject: hello %d\r\nFrom: f%d@remote.test\r\n\r\nbody %d\r\n", i, i, i)
		if err := sendWithGo(s.smtpAddr(), "f@remote.test", []string{"yuri@acme.test"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		s.waitDelivered("yuri@acme.test", i+1)
	}
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("yuri@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := func(uid imap.UID, flags ...imap.Flag) {
		if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
	store(1, imap.FlagSeen, imap.FlagFlagged)
	store(2, imap.FlagAnswered)
	if _, err := c.Move(imap.UIDSetNum(3), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}

	d := startDovecot(t, s.maildir("yuri@acme.test"))
	// Dovecot adds \Recent for mail it sees first; that is its own.
	out := strings.ReplaceAll(d.doveadm("", "fetch", "-u", "yuri", "flags hdr.subject", "mailbox", "INBOX", "all"), " \\Recent", "")
	for _, want := range []string{"flags: \\Flagged \\Seen\nhdr.subject: hello 0", "flags: \\Answered\nhdr.subject: hello 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("Dovecot's view of INBOX lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hello 2") {
		t.Errorf("Dovecot still sees the moved message in INBOX:\n%s", out)
	}
	if out := d.doveadm("", "fetch", "-u", "yuri", "hdr.subject", "mailbox", "Archive", "all"); !strings.Contains(out, "hello 2") {
		t.Errorf("Dovecot's view of Archive:\n%s", out)
	}

	// Dovecot writes (with LF line ends, as it stores mail) and flags a
	// message; Yubin notices the new file and serves it with CRLF.
	d.doveadm("Subject: from dovecot\nFrom: d@remote.test\n\nsaved by doveadm\n", "save", "-u", "yuri", "-m", "INBOX")
	d.doveadm("", "flags", "add", "-u", "yuri", "\\Flagged", "mailbox", "INBOX", "subject", "from dovecot")
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch the Dovecot message: %v (%d)", err, len(msgs))
	}
	want := "Subject: from dovecot\r\nFrom: d@remote.test\r\n\r\nsaved by doveadm\r\n"
	m := msgs[0]
	if len(m.BodySection) != 1 || string(m.BodySection[0].Bytes) != want || m.RFC822Size != int64(len(want)) {
		t.Errorf("Yubin serves %+v (RFC822.SIZE %d), want %q (%d)", m.BodySection, m.RFC822Size, want, len(want))
	}
	if len(m.Flags) != 1 || m.Flags[0] != imap.FlagFlagged {
		t.Errorf("flags of the Dovecot message = %v, want [\\Flagged]", m.Flags)
	}
	// The UIDs Yubin gave its own messages did not change.
	if msgs, _ := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true}).Collect(); len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 {
		t.Errorf("UIDs after Dovecot's write: %+v", msgs)
	}
}
