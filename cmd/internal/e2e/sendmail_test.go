package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// sendmail runs mailctl under the name "sendmail" (as /usr/sbin/sendmail
// is linked to it) with the server's data dir and returns the exit status.
func (s *server) sendmail(stdin string, args ...string) (string, int) {
	s.t.Helper()
	dir := s.t.TempDir()
	link := filepath.Join(dir, "sendmail")
	if err := os.Symlink(filepath.Join(binDir, "mailctl"), link); err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(link, append([]string{"--data", s.dataDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return out.String(), 0
}

var bccField = regexp.MustCompile(`(?im)^bcc:`)

// TestSendmail submits through `mailctl sendmail` and the "sendmail" name:
// -t with To/Cc/Bcc, -f/-F, dot handling with and without -i, DKIM
// signing by the daemon, and sendmail's exit codes.
func TestSendmail(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	for _, u := range []string{"kim@acme.test", "leo@acme.test", "mia@acme.test"} {
		s.addUser(u)
	}
	record := s.mustMailctl("", "dkim", "generate", "acme.test", "--algorithm", "ed25519")

	// -t: recipients from the header; Bcc is removed; From is added from
	// -f and -F.
	msg := "To: Kim <kim@acme.test>\nCc: leo@acme.test\nBcc: mia@acme.test\nSubject: nightly report\n\nAll good.\n.\nafter the dot\n"
	s.mustMailctl(msg, "sendmail", "-t", "-f", "cron@acme.test", "-F", "Cron Daemon", "-oi")
	s.waitDelivered("kim@acme.test", 1)
	s.waitDelivered("leo@acme.test", 1)
	s.waitDelivered("mia@acme.test", 1)
	for _, u := range []string{"kim@acme.test", "leo@acme.test", "mia@acme.test"} {
		files := s.newFiles(u)
		if len(files) != 1 {
			t.Fatalf("%s has %d messages", u, len(files))
		}
		f := files[0]
		for _, want := range []string{"From: \"Cron Daemon\" <cron@acme.test>\r\n", "Subject: nightly report\r\n", "Return-Path: <cron@acme.test>",
			"\r\n\r\nAll good.\r\n.\r\nafter the dot\r\n", "Message-Id: ", "Date: ", "DKIM-Signature: "} {
			if !strings.Contains(f, want) {
				t.Errorf("%s: message lacks %q:\n%s", u, want, f)
			}
		}
		// A Bcc header field, not "bcc" anywhere: the random hex of a
		// Message-Id can hold those letters.
		if bccField.MatchString(f) {
			t.Errorf("%s: Bcc survived:\n%s", u, f)
		}
	}

	// The daemon signed with the key `dkim generate` printed: verify the
	// delivered copy against that record.
	name, value := parseZoneLine(t, record)
	delivered := s.newFiles("kim@acme.test")[0]
	verifs, err := dkim.VerifyWithOptions(strings.NewReader(delivered), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain+"." != name {
				return nil, errors.New("no such record: " + domain)
			}
			return []string{value}, nil
		},
	})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil {
		t.Errorf("DKIM verification of the delivered message: %v %+v", err, verifs)
	}

	// The sendmail name, recipients as arguments, default sender (the Unix
	// user at the daemon's hostname); without -i a lone dot ends the message.
	out, code := s.sendmail("Subject: dots\n\nbefore\n.\nnot sent\n", "leo@acme.test")
	if code != 0 {
		t.Fatalf("sendmail exit %d: %s", code, out)
	}
	s.waitDelivered("leo@acme.test", 2)
	var second string
	for _, f := range s.newFiles("leo@acme.test") {
		if strings.Contains(f, "Subject: dots") {
			second = f
		}
	}
	if !strings.HasSuffix(second, "\r\n\r\nbefore\r\n") || strings.Contains(second, "not sent") {
		t.Errorf("dot-terminated message:\n%s", second)
	}
	if !regexp.MustCompile(`From: [^\r\n]+@mail\.example\.test\r\n`).MatchString(second) {
		t.Errorf("default sender not user@hostname:\n%s", second)
	}

	// Exit codes: usage, bad recipient, and maild down (try again later).
	if out, code := s.sendmail("Subject: x\n\nx\n"); code != 64 || !strings.Contains(out, "no recipients") {
		t.Errorf("no recipients: exit %d %q", code, out)
	}
	if out, code := s.sendmail("x\n", "-bs"); code != 64 {
		t.Errorf("-bs: exit %d %q", code, out)
	}
	if out, code := s.sendmail("x\n", "not an address@"); code != 67 {
		t.Errorf("bad recipient: exit %d %q", code, out)
	}
	s.stop()
	if out, code := s.sendmail("Subject: x\n\nx\n", "leo@acme.test"); code != 75 || !strings.Contains(out, "maild is not running") {
		t.Errorf("maild down: exit %d %q", code, out)
	}
}

// parseZoneLine reads `name IN TXT "a" "b"` back as a resolver would.
func parseZoneLine(t *testing.T, line string) (name, value string) {
	t.Helper()
	name, rest, ok := strings.Cut(strings.TrimSpace(line), " IN TXT ")
	if !ok {
		t.Fatalf("not a TXT zone line: %q", line)
	}
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(rest, -1) {
		value += q[1]
	}
	return name, value
}

// TestSendmailWireForm: local submission is held to the one wire form as
// SMTP is: bare LFs (what a Unix program writes) become CRLF, a bare CR
// refuses the message with 554 5.6.0 and a non-zero exit, and nothing is
// delivered for it.
func TestSendmailWireForm(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("kim@acme.test")
	out, code := s.sendmail("Subject: smuggler\n\nfirst\r.\r\nMAIL FROM:<evil@acme.test>\r\n", "kim@acme.test")
	if code == 0 || !strings.Contains(out, "5.6.0") {
		t.Errorf("bare CR: exit %d, output %q; want a failure naming 5.6.0", code, out)
	}
	s.mustMailctl("Subject: fine\n\nbare LF\nlines\n.\nend", "sendmail", "-i", "kim@acme.test")
	s.waitDelivered("kim@acme.test", 1)
	s.waitQueueEmpty(30 * time.Second)
	files := s.newFiles("kim@acme.test")
	if len(files) != 1 {
		t.Fatalf("kim has %d messages, want 1", len(files))
	}
	if i := firstBareLineEnd([]byte(files[0])); i >= 0 || !strings.HasSuffix(files[0], "\r\n\r\nbare LF\r\nlines\r\n.\r\nend\r\n") {
		t.Errorf("stored (bare line end at %d):\n%q", i, files[0])
	}
}
