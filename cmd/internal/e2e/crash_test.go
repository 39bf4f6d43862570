package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sendN sends n numbered messages to rcpt over one connection and returns
// once the last 250 has arrived.
func sendN(t *testing.T, addr, rcpt, tag string, n int) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("crash.remote.test"); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		msg := fmt.Sprintf("Subject: %s %d\r\nMessage-ID: <%s.%d@crash>\r\n\r\npayload %d\r\n", tag, i, tag, i, i)
		if err := c.SendMail("sender@remote.test", []string{rcpt}, strings.NewReader(msg)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// distinct returns the set of Message-IDs with the tag found in files.
func distinct(files []string, tag string) map[string]bool {
	re := regexp.MustCompile(`Message-ID: <(` + regexp.QuoteMeta(tag) + `\.\d+)@crash>`)
	out := map[string]bool{}
	for _, f := range files {
		if m := re.FindStringSubmatch(f); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// TestKill9AfterAcceptLosesNothing kills maild with SIGKILL right after the
// last 250 and checks, after a restart, that every acknowledged message is
// in the Maildir: both those already delivered and those still queued.
func TestKill9AfterAcceptLosesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("kim@acme.test")
	s.addUser("leo@acme.test")
	// leo's quota is tiny, so his mail is accepted but stays queued
	// (452 4.2.2 mailbox full, retried): at the kill it is only in the
	// queue.
	s.mustMailctl("", "user", "quota", "leo@acme.test", "1")

	sendN(t, s.smtpAddr(), "kim@acme.test", "kim", 50)
	sendN(t, s.smtpAddr(), "leo@acme.test", "leo", 20)
	s.logs.wait(t, 30*time.Second, func(e logEntry) bool { return e.str("msg") == "deferred" && strings.Contains(e.str("rcpt"), "leo@") })
	s.kill()

	s.mustMailctl("", "user", "quota", "leo@acme.test", "0")
	s.start()
	// Every delivery logs a line, so re-checking the Maildirs on each
	// line is enough; the timeout reports what is missing.
	s.logs.waitFor(t, 60*time.Second, "all 70 messages in the Maildirs", func() bool {
		return len(distinct(s.newFiles("kim@acme.test"), "kim")) == 50 &&
			len(distinct(s.newFiles("leo@acme.test"), "leo")) == 20
	})
	if n := len(s.newFiles("kim@acme.test")); n != 50 {
		t.Logf("kim has %d files for 50 messages (a crash may deliver twice, never lose)", n)
	}
}
