package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// imapflowDir holds flow.js and, once `npm ci` ran there (make deps),
// imapflow pinned by package-lock.json.
const imapflowDir = "testdata/imapflow"

// TestImapFlow runs imapflow, the Node.js IMAP client behind many web
// and mobile mail apps, through testdata/imapflow/flow.js: TLS login,
// LIST, open INBOX, fetch envelope and flags of every message, IDLE that
// receives a delivery's EXISTS, STORE +FLAGS, MOVE to Archive, LOGOUT.
func TestImapFlow(t *testing.T) {
	t.Parallel()
	node := needTool(t, "node")
	if _, err := os.Stat(filepath.Join(imapflowDir, "node_modules", "imapflow", "package.json")); err != nil {
		skipOrFail(t, "imapflow not installed (npm ci --prefix cmd/internal/e2e/%s): %v", imapflowDir, err)
	}
	s := startServer(t, "")
	const user = "nina@acme.test"
	s.addUser(user)
	deliver := func(n int, subject string) {
		t.Helper()
		msg := "From: Sender <sender@remote.test>\r\nTo: " + user + "\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
		if err := sendWithGo(s.smtpAddr(), "sender@remote.test", []string{user}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		s.waitDelivered(user, n)
	}
	deliver(1, "first")
	deliver(2, "second")

	host, port, _ := strings.Cut(s.addrs["imaps"], ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "flow.js")
	cmd.Dir = imapflowDir
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "USER="+user, "PASS=secret-pw")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		// The server acknowledged IDLE: deliver the message it must push.
		if line == "IDLING" && !slices.Contains(lines[:len(lines)-1], "IDLING") {
			deliver(3, "pushed")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imapflow script: %v\nstdout:\n%s\nstderr:\n%s", err, strings.Join(lines, "\n"), stderr.String())
	}
	out := strings.Join(lines, "\n")
	t.Logf("imapflow:\n%s", out)
	for _, want := range []string{
		"AUTH yes",
		`LIST INBOX \Inbox`, `LIST Sent \Sent`, `LIST Drafts \Drafts`, `LIST Trash \Trash`, `LIST Junk \Junk`, `LIST Archive \Archive`,
		"OPEN INBOX exists 2 uidValidity",
		"FETCH 1 uid 1 subject first from sender@remote.test flags -",
		"FETCH 2 uid 2 subject second from sender@remote.test flags -",
		"IDLING",
		"EXISTS 3 prev 2",
		"NEW uid 3 subject pushed",
		`FLAGS true $Important,\Flagged`,
		"MOVED INBOX to Archive uidMap 3->1",
		"AFTERMOVE exists 2",
		"STATUS Archive messages 1 unseen 1",
		"LOGOUT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("imapflow output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("imapflow stderr:\n%s", stderr.String())
	}
	// Storage agrees: the moved message sits in Archive's Maildir with
	// the F flag, and INBOX keeps the other two.
	archive := s.maildirList(user, ".Archive")
	if len(archive) != 1 || !strings.Contains(archive[0], ":2,F") {
		t.Errorf("Archive files = %v, want one flagged", archive)
	}
	if inbox := s.maildirList(user, ""); len(inbox) != 2 {
		t.Errorf("INBOX files = %v, want two", inbox)
	}
}
