package e2e

import (
	"context"
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
)

// mbsync drives isync's mbsync against one maild account: a Channel
// between the account (IMAPS, maild's self-signed certificate trusted by
// CertificateFile) and a Maildir in a temp dir, with Sync All, Create
// Both and Expunge Both, as a laptop keeping an offline copy would.
type mbsync struct {
	t      *testing.T
	bin    string
	script string // util-linux script(1), to give mbsync a terminal
	rc     string
	local  string // the near-side Maildir root; INBOX is local/INBOX
}

func newMbsync(t *testing.T, s *server, user string) *mbsync {
	t.Helper()
	bin := needTool(t, "mbsync")
	script := needTool(t, "script")
	dir := t.TempDir()
	host, port, _ := strings.Cut(s.addrs["imaps"], ":")
	local := filepath.Join(dir, "mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	// isync 1.4 spells the TLS keys SSLType/SSLVersions; 1.5 reads
	// them too (as TLSType/TLSVersions' old names).
	rc := fmt.Sprintf(`IMAPAccount yubin
Host %s
Port %s
User %s
Pass secret-pw
SSLType IMAPS
SSLVersions TLSv1.2 TLSv1.3
CertificateFile %s
PipelineDepth 4

IMAPStore yubin-far
Account yubin

MaildirStore laptop
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel office
Far :yubin-far:
Near :laptop:
Patterns *
Sync All
Create Both
Expunge Both
SyncState *
`, host, port, user, filepath.Join(s.dataDir, "tls", "selfsigned.crt"), local, local)
	path := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return &mbsync{t: t, bin: bin, script: script, rc: path, local: local}
}

// syncCounts is what one mbsync run reports it did, per side: messages
// added (+), messages whose flags it changed (*), messages it moved to a
// Trash store (#, unused here) and, isync 1.5 only, messages it expunged (-).
type syncCounts struct {
	farNew, farFlags, farTrashed, farExpunged     int // changes made on maild
	nearNew, nearFlags, nearTrashed, nearExpunged int // changes made in the local Maildir
}

func (c syncCounts) zero() bool { return c == syncCounts{} }

// mbsyncProgress matches mbsync's progress counters, which it prints only
// to a terminal: "C: 1/1  B: 6/6  F: +1/1 *0/0 #0/0  N: +3/3 *1/1 #1/1"
// (isync 1.5 adds " -n/n" expunge counters to each side).
var mbsyncProgress = regexp.MustCompile(`C: \d+/\d+ +B: \d+/\d+ +F: \+(\d+)/\d+ \*(\d+)/\d+ #(\d+)/\d+(?: -(\d+)/\d+)? +N: \+(\d+)/\d+ \*(\d+)/\d+ #(\d+)/\d+(?: -(\d+)/\d+)?`)

// run runs one full sync and returns mbsync's own final counts. mbsync
// runs under script(1) so that its stdout is a terminal and it prints
// its counters.
func (m *mbsync) run() syncCounts {
	m.t.Helper()
	// mbsync gives up on a silent server after its 20 s Timeout; the
	// context only bounds a run that hangs anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.script, "-q", "-e", "-c", m.bin+" -c "+m.rc+" -a", "/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		m.t.Fatalf("mbsync: %v\n%s", err, out)
	}
	all := mbsyncProgress.FindAllStringSubmatch(string(out), -1)
	if all == nil {
		m.t.Fatalf("mbsync printed no progress counters:\n%s", out)
	}
	last := all[len(all)-1]
	n := make([]int, 8)
	for i := range n {
		n[i], _ = strconv.Atoi(last[i+1])
	}
	m.t.Logf("mbsync: %s", last[0])
	return syncCounts{farNew: n[0], farFlags: n[1], farTrashed: n[2], farExpunged: n[3], nearNew: n[4], nearFlags: n[5], nearTrashed: n[6], nearExpunged: n[7]}
}

// files lists the message files of a near-side folder ("INBOX" or a
// folder name), as "new/name" or "cur/name".
func (m *mbsync) files(folder string) []string {
	m.t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(m.local, folder, sub))
		if err != nil {
			m.t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, sub+"/"+e.Name())
		}
	}
	return out
}

// find returns the near-side file of folder whose content contains s.
func (m *mbsync) find(folder, s string) string {
	m.t.Helper()
	for _, f := range m.files(folder) {
		b, err := os.ReadFile(filepath.Join(m.local, folder, f))
		if err != nil {
			m.t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return f
		}
	}
	return ""
}

// writeLocal puts a new message into a near-side folder as a mail client
// on the laptop would (tmp/, then rename into new/).
func (m *mbsync) writeLocal(folder, name, body string) {
	m.t.Helper()
	dir := filepath.Join(m.local, folder)
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			m.t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		m.t.Fatal(err)
	}
}

// imapFlagsBySubject examines mailbox over IMAP and returns each
// message's flags by its subject.
func imapFlagsBySubject(t *testing.T, c *imapclient.Client, mailbox string) map[string][]imap.Flag {
	t.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %s: %v", mailbox, err)
	}
	out := map[string][]imap.Flag{}
	if sel.NumMessages > 0 {
		var all imap.SeqSet
		all.AddRange(1, sel.NumMessages)
		msgs, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
		if err != nil {
			t.Fatalf("fetch %s: %v", mailbox, err)
		}
		for _, m := range msgs {
			out[m.Envelope.Subject] = m.Flags
		}
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMbsyncTwoWay keeps a laptop Maildir in sync with maild through
// isync's mbsync: deliveries arrive locally; a message written locally
// is uploaded (APPEND, UIDPLUS); a flag set locally (rename to :2,S)
// reaches the server; a message expunged on the server disappears
// locally; a folder made on either side appears on the other; and a sync
// with nothing changed transfers nothing.
func TestMbsyncTwoWay(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	const user = "lena@acme.test"
	s.addUser(user)
	deliver := func(n int, subject string) {
		t.Helper()
		msg := fmt.Sprintf("From: sender@remote.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@remote.test>\r\n\r\nbody of %s\r\n", user, subject, strings.ReplaceAll(subject, " ", "-"), subject)
		if err := sendWithGo(s.smtpAddr(), "sender@remote.test", []string{user}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		s.waitDelivered(user, n)
	}
	deliver(1, "keep me")
	deliver(2, "read me")
	deliver(3, "drop me")

	m := newMbsync(t, s, user)

	// First sync: the three deliveries and the default folders arrive.
	got := m.run()
	if want := (syncCounts{nearNew: 3}); got != want {
		t.Errorf("first sync = %+v, want %+v", got, want)
	}
	for _, subj := range []string{"keep me", "read me", "drop me"} {
		if m.find("INBOX", "Subject: "+subj) == "" {
			t.Errorf("%q not in the local INBOX after the first sync: %v", subj, m.files("INBOX"))
		}
	}
	for _, folder := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(m.local, folder, "cur")); err != nil {
			t.Errorf("folder %s not created locally: %v", folder, err)
		}
	}

	// Changes on both sides.
	c := dialIMAP(t, s, nil)
	if err := c.Login(user, "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	// Server: a new delivery, a new folder with a message, and "drop me"
	// expunged.
	deliver(4, "late news")
	if err := c.Create("FromServer", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	body := "From: lena@acme.test\r\nSubject: filed on the server\r\n\r\nserver side\r\n"
	w := c.Append("FromServer", int64(len(body)), nil)
	w.Write([]byte(body))
	w.Close()
	if _, err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	seq, err := c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "drop me"}}}, nil).Wait()
	if err != nil || len(seq.AllSeqNums()) != 1 {
		t.Fatalf("search drop me: %v %v", seq, err)
	}
	if err := c.Store(imap.SeqSetNum(seq.AllSeqNums()...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}

	// Laptop: a draft written into INBOX, a new folder with a message,
	// and "read me" marked seen by renaming it to :2,S.
	m.writeLocal("INBOX", "1700000000.laptop1.host", "From: lena@acme.test\r\nTo: boss@remote.test\r\nSubject: written offline\r\n\r\nfrom the laptop\r\n")
	m.writeLocal("FromLaptop", "1700000001.laptop2.host", "From: lena@acme.test\r\nSubject: filed on the laptop\r\n\r\nlaptop side\r\n")
	read := m.find("INBOX", "Subject: read me")
	if read == "" {
		t.Fatal("read me not found locally")
	}
	base := filepath.Base(read)
	if i := strings.Index(base, ":2,"); i >= 0 {
		base = base[:i]
	}
	if err := os.Rename(filepath.Join(m.local, "INBOX", read), filepath.Join(m.local, "INBOX", "cur", base+":2,S")); err != nil {
		t.Fatal(err)
	}

	got = m.run()
	// isync 1.4 counts the expunge it propagates to the near side as a
	// flag update there; 1.5 counts it as an expunge.
	if got.farNew != 2 || got.farFlags != 1 || got.nearNew != 2 || got.nearFlags+got.nearExpunged != 1 || got.farTrashed+got.nearTrashed+got.farExpunged != 0 {
		t.Errorf("second sync = %+v, want 2 new and 1 flag change on each side, 1 expunge or flag change near", got)
	}
	// Near side: the expunged message is gone, the new ones are there.
	if f := m.find("INBOX", "Subject: drop me"); f != "" {
		t.Errorf("drop me still local after its expunge on the server: %s", f)
	}
	if m.find("INBOX", "Subject: late news") == "" {
		t.Errorf("late news not pulled: %v", m.files("INBOX"))
	}
	if m.find("FromServer", "Subject: filed on the server") == "" {
		t.Errorf("the server's new folder did not arrive with its message")
	}
	// Far side, over IMAP: the upload, the flag and the laptop's folder.
	inbox := imapFlagsBySubject(t, c, "INBOX")
	if len(inbox) != 4 {
		t.Errorf("server INBOX = %v, want keep me, read me, late news, written offline", inbox)
	}
	if _, ok := inbox["written offline"]; !ok {
		t.Errorf("the message written locally was not uploaded: %v", inbox)
	}
	if !slices.Contains(inbox["read me"], imap.FlagSeen) || slices.Contains(inbox["keep me"], imap.FlagSeen) {
		t.Errorf("server flags = %v, want \\Seen on read me only", inbox)
	}
	if got := imapFlagsBySubject(t, c, "FromLaptop"); len(got) != 1 || !hasKey(got, "filed on the laptop") {
		t.Errorf("server FromLaptop = %v, want the laptop's message", got)
	}
	// Far side, in storage: the Maildir that Dovecot or mutt would read
	// has the flag in the file name.
	var seen []string
	for _, f := range s.maildirList(user, "") {
		if strings.HasSuffix(f, ":2,S") {
			seen = append(seen, f)
		}
	}
	if len(seen) != 1 {
		t.Errorf("server Maildir files with :2,S = %v, want one", seen)
	}

	// A local deletion is expunged on the server (Expunge Both).
	late := m.find("INBOX", "Subject: late news")
	if err := os.Remove(filepath.Join(m.local, "INBOX", late)); err != nil {
		t.Fatal(err)
	}
	got = m.run()
	if got.farFlags+got.farExpunged != 1 || got.farNew+got.nearNew+got.nearFlags+got.nearExpunged != 0 {
		t.Errorf("sync after a local delete = %+v, want one change on the far side only", got)
	}
	if inbox := imapFlagsBySubject(t, c, "INBOX"); len(inbox) != 3 || hasKey(inbox, "late news") {
		t.Errorf("server INBOX after the local delete = %v", inbox)
	}

	// Last sync: nothing changed, nothing moves.
	if got := m.run(); !got.zero() {
		t.Errorf("sync without changes = %+v, want all zero", got)
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
