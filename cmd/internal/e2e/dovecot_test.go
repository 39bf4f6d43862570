package e2e

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"yubin/cmd/internal/testpeers"
)

// dovecot is a private Dovecot instance (see testpeers.Dovecot) for one
// test.
type dovecot struct {
	t testing.TB
	*testpeers.Dovecot
}

// startDovecot starts Dovecot on maildir, with no listeners, only
// doveadm; see startDovecotPeer.
func startDovecot(t testing.TB, maildir string) *dovecot {
	t.Helper()
	return startDovecotPeer(t, testpeers.DovecotOptions{Maildir: maildir})
}

// startDovecotPeer starts Dovecot with opts and stops it when the test
// ends, printing its log if the test failed. Skipped when Dovecot is not
// installed (required in CI) or the test does not run as root.
func startDovecotPeer(t testing.TB, opts testpeers.DovecotOptions) *dovecot {
	t.Helper()
	needTool(t, "dovecot")
	needTool(t, "doveadm")
	d, err := testpeers.StartDovecot(opts)
	checkPeerStart(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dovecot log:\n%s", d.Log())
		}
		d.Stop()
	})
	return &dovecot{t: t, Dovecot: d}
}

// traversable lets the peers' unprivileged users reach dir: t.TempDir
// makes the test's top directory 0700.
func traversable(dir string) {
	for p := dir; p != "/" && p != "/tmp"; p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
}

func (d *dovecot) doveadm(stdin string, args ...string) string {
	d.t.Helper()
	out, err := d.Doveadm(stdin, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// TestDovecotInterop points Dovecot at a Maildir that Yubin wrote and
// checks it sees the same messages and flags; then has Dovecot write into
// the Maildir and checks Yubin serves that mail over IMAP.
func TestDovecotInterop(t *testing.T) {
	t.Parallel()
	needTool(t, "dovecot")
	needTool(t, "doveadm")
	needRoot(t, "give the Maildir to Dovecot's unprivileged user")
	// A data directory owned by nobody: maild, running as root, gives
	// every file it creates to the data directory's owner, as it does for
	// the yubin user in production, so Dovecot (as nobody) can use them.
	base := t.TempDir()
	traversable(base)
	dataDir := filepath.Join(base, "data")
	os.Mkdir(dataDir, 0o750)
	os.Chown(dataDir, testpeers.Nobody, testpeers.Nobody)
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
	// \Recent is this session's (it is the first to see the message,
	// RFC 3501 §2.3.2), not a stored flag.
	flags := slices.DeleteFunc(slices.Clone(m.Flags), func(f imap.Flag) bool { return f == `\Recent` })
	if len(flags) != 1 || flags[0] != imap.FlagFlagged {
		t.Errorf("flags of the Dovecot message = %v, want [\\Flagged]", m.Flags)
	}
	// The UIDs Yubin gave its own messages did not change.
	if msgs, _ := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{UID: true}).Collect(); len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 {
		t.Errorf("UIDs after Dovecot's write: %+v", msgs)
	}
}
