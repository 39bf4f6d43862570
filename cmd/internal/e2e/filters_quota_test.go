package e2e

import (
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestQuotaAtRcpt: a recipient whose mailbox is already at or over its
// quota is refused at RCPT with 452 4.2.2 (the sender keeps the message
// and retries); others in the same transaction are not affected.
func TestQuotaAtRcpt(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("full@acme.test")
	s.addUser("room@acme.test")
	if err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"full@acme.test"}, mailWith("first", "fills the box")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("full@acme.test", 1)
	s.mustMailctl("", "user", "quota", "full@acme.test", "1")

	err := sendWithGo(s.smtpAddr(), "ann@sender.test", []string{"full@acme.test"}, mailWith("second", "no room"))
	wantSMTPError(t, err, 452, smtp.EnhancedCode{4, 2, 2})

	c, err := smtp.Dial(s.smtpAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("ann@sender.test", nil); err != nil {
		t.Fatal(err)
	}
	wantSMTPError(t, c.Rcpt("full@acme.test", nil), 452, smtp.EnhancedCode{4, 2, 2})
	if err := c.Rcpt("room@acme.test", nil); err != nil {
		t.Fatalf("RCPT of a user with room: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(mailWith("third", "for room only"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("room@acme.test", 1)
	if n := len(s.maildirList("full@acme.test", "")); n != 1 {
		t.Errorf("full mailbox has %d messages, want 1", n)
	}
}

// maildirBytes is the total size of the message files under a user's
// Maildir (all folders): what the quota counts.
func (s *server) maildirBytes(addr string) int64 {
	s.t.Helper()
	var n int64
	filepath.WalkDir(s.maildir(addr), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if dir := filepath.Base(filepath.Dir(path)); dir == "new" || dir == "cur" {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
