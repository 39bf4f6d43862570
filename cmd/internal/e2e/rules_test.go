package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readFolder returns the contents of the messages in a user's folder
// ("" for INBOX, ".Archive" for Archive) keyed by file name.
func (s *server) readFolder(addr, folder string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for _, name := range s.maildirList(addr, folder) {
		b, err := os.ReadFile(filepath.Join(s.maildir(addr), folder, name))
		if err != nil {
			s.t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// TestSieveRuleFilesAndFlags: a rule added with mailctl files a sender's
// mail into a folder and flags it; other mail stays in INBOX.
func TestSieveRuleFilesAndFlags(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	s.mustMailctl("", "rule", "add", "alice@acme.test", "--from", "boss@remote.test", "--fileinto", "Archive", "--flag", "--stop")
	if _, errOut, err := s.mailctl("", "rule", "add", "alice@acme.test", "--from", "x"); err == nil {
		t.Fatal("rule without action accepted")
	} else if !strings.Contains(errOut, "action") {
		t.Fatalf("rule without action: %s", errOut)
	}
	if _, _, err := s.mailctl("if {", "rule", "set", "bob@acme.test", "-"); err == nil {
		t.Fatal("broken script accepted")
	}
	show := s.mustMailctl("", "rule", "show", "alice@acme.test")
	if !strings.Contains(show, `fileinto "Archive"`) || !strings.Contains(show, `require ["imap4flags", "fileinto"]`) {
		t.Fatalf("rule show:\n%s", show)
	}

	if err := sendWithGo(s.smtpAddr(), "boss@remote.test", []string{"alice@acme.test"},
		[]byte("From: The Boss <boss@remote.test>\r\nTo: alice@acme.test\r\nSubject: quarterly\r\n\r\nnumbers\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := sendWithGo(s.smtpAddr(), "friend@remote.test", []string{"alice@acme.test"},
		[]byte("From: friend@remote.test\r\nTo: alice@acme.test\r\nSubject: hello\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("alice@acme.test", 2)
	archive := s.readFolder("alice@acme.test", ".Archive")
	if len(archive) != 1 {
		t.Fatalf("Archive has %d messages, want 1", len(archive))
	}
	for name, body := range archive {
		_, info, _ := strings.Cut(name, ":2,")
		if !strings.Contains(info, "F") || !strings.Contains(body, "Subject: quarterly") {
			t.Fatalf("Archive message %s not flagged or wrong: %q", name, body)
		}
	}
	inbox := s.readFolder("alice@acme.test", "")
	if len(inbox) != 1 {
		t.Fatalf("INBOX has %d messages, want 1", len(inbox))
	}
	for _, body := range inbox {
		if !strings.Contains(body, "Subject: hello") {
			t.Fatalf("INBOX message: %q", body)
		}
	}

	// rule remove: mail from the boss goes to INBOX again.
	s.mustMailctl("", "rule", "remove", "alice@acme.test")
	if err := sendWithGo(s.smtpAddr(), "boss@remote.test", []string{"alice@acme.test"},
		[]byte("From: boss@remote.test\r\nTo: alice@acme.test\r\nSubject: again\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("alice@acme.test", 3)
	if n := len(s.readFolder("alice@acme.test", "")); n != 2 {
		t.Fatalf("INBOX has %d messages after rule remove, want 2", n)
	}
}

// TestVacationRepliesOnce: a local sender gets one auto-reply in its
// INBOX however often it writes; a list message gets none.
func TestVacationRepliesOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	s.addUser("bob@acme.test")
	until := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	s.mustMailctl("", "vacation", "set", "alice@acme.test", "--subject", "Out of office", "--message", `Away until next week.\nAlice`, "--until", until, "--days", "3")
	show := s.mustMailctl("", "vacation", "show", "alice@acme.test")
	if !strings.Contains(show, "state:   on") || !strings.Contains(show, "Out of office") || !strings.Contains(show, "days:    3") {
		t.Fatalf("vacation show:\n%s", show)
	}

	for i, id := range []string{"<q1@acme.test>", "<q2@acme.test>"} {
		msg := "From: bob@acme.test\r\nTo: alice@acme.test\r\nSubject: question " + string(rune('1'+i)) + "\r\nMessage-ID: " + id + "\r\n\r\nhi\r\n"
		if err := submit(t, s.addrs["submission"], false, "bob@acme.test", "bob@acme.test", []string{"alice@acme.test"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	// A list message from outside gets no reply.
	if err := sendWithGo(s.smtpAddr(), "list-bounces@lists.remote.test", []string{"alice@acme.test"},
		[]byte("From: news@lists.remote.test\r\nTo: alice@acme.test\r\nList-Id: <news.lists.remote.test>\r\nSubject: digest\r\n\r\nnews\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("alice@acme.test", 3)
	s.waitDelivered("bob@acme.test", 1)
	s.logs.wait(t, 30*time.Second, func(e logEntry) bool {
		return e.str("msg") == "no vacation reply" && strings.Contains(e.str("reason"), "mailing list")
	})
	s.logs.wait(t, 30*time.Second, func(e logEntry) bool {
		return e.str("msg") == "no vacation reply" && e.str("reason") == "already replied"
	})
	// Every decision is logged; a (wrong) second reply would have been
	// queued before it, so once the queue is empty it is in the Maildir.
	s.waitQueueEmpty(30 * time.Second)
	replies := s.readFolder("bob@acme.test", "")
	if len(replies) != 1 {
		t.Fatalf("bob has %d messages, want 1 reply", len(replies))
	}
	for _, r := range replies {
		for _, want := range []string{"Return-Path: <>", "From: <alice@acme.test>", "To: <bob@acme.test>", "Subject: Out of office",
			"Auto-Submitted: auto-replied", "Away until next week.\r\nAlice"} {
			if !strings.Contains(r, want) {
				t.Errorf("reply lacks %q:\n%s", want, r)
			}
		}
		// Deliveries run concurrently: the reply answers whichever
		// question was delivered first.
		if !strings.Contains(r, "In-Reply-To: <q1@acme.test>") && !strings.Contains(r, "In-Reply-To: <q2@acme.test>") {
			t.Errorf("reply answers neither question:\n%s", r)
		}
	}
	if n := s.logs.count(func(e logEntry) bool { return e.str("msg") == "vacation reply queued" }); n != 1 {
		t.Fatalf("%d vacation replies queued, want 1", n)
	}

	s.mustMailctl("", "vacation", "off", "alice@acme.test")
	if _, _, err := s.mailctl("", "vacation", "show", "alice@acme.test"); err == nil {
		t.Fatal("vacation show after off succeeded")
	}
}
