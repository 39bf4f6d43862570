package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// splitDelivered checks the headers the server adds in front of a
// delivered message and returns what follows them.
func splitDelivered(t *testing.T, file, from, user string) string {
	t.Helper()
	want := fmt.Sprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\nReceived: from ", from, user)
	if !strings.HasPrefix(file, want) {
		t.Fatalf("delivered file starts with %q, want prefix %q", file[:min(len(file), 200)], want)
	}
	// The Received field is folded; it ends at the first line that does
	// not start with white space.
	rest := file[len("Return-Path: <"+from+">\r\nDelivered-To: "+user+"\r\n"):]
	i := 0
	for {
		j := strings.Index(rest[i:], "\r\n")
		if j < 0 {
			t.Fatalf("unterminated Received header")
		}
		i += j + 2
		if i >= len(rest) || (rest[i] != ' ' && rest[i] != '\t') {
			break
		}
	}
	received := rest[:i]
	if !regexp.MustCompile(`(?s)^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby mail\.example\.test \(Yubin\) with ESMTPS? id [A-Z2-7]+`).MatchString(received) {
		t.Errorf("unexpected Received header: %q", received)
	}
	return rest[i:]
}

func TestPythonSMTPLibDelivery(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	msg := "From: Bob <bob@remote.test>\r\nTo: alice@acme.test\r\nSubject: hello from smtplib\r\nMessage-ID: <1@remote.test>\r\n\r\nHi Alice,\r\n.leading dot line\r\nbye\r\n"
	script := `
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
msg = sys.stdin.buffer.read()
with smtplib.SMTP(host, int(port), timeout=30) as s:
    s.ehlo("client.remote.test")
    assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("smtputf8") and s.has_extn("enhancedstatuscodes"), s.esmtp_features
    assert s.has_extn("size") and s.esmtp_features["size"] == "26214400", s.esmtp_features
    assert s.has_extn("starttls")
    s.sendmail("bob@remote.test", ["alice@acme.test"], msg)
print("sent")
`
	cmd := exec.Command(py, "-c", script, s.smtpAddr())
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	s.waitDelivered("alice@acme.test", 1)
	files := s.newFiles("alice@acme.test")
	if len(files) != 1 {
		t.Fatalf("got %d files in new/, want 1", len(files))
	}
	if body := splitDelivered(t, files[0], "bob@remote.test", "alice@acme.test"); body != msg {
		t.Errorf("delivered message differs:\n got %q\nwant %q", body, msg)
	}
	// The Maildir file name carries the size, as Maildir++ readers expect.
	ents, _ := os.ReadDir(filepath.Join(s.maildir("alice@acme.test"), "new"))
	if want := fmt.Sprintf(",S=%d", len(files[0])); !strings.HasSuffix(ents[0].Name(), want) {
		t.Errorf("file name %q lacks %q", ents[0].Name(), want)
	}
	// One message can be followed from connect to Maildir by its ids.
	var queueID string
	for _, e := range s.logs.all() {
		if e.str("msg") == "accepted" {
			queueID = e.str("queue_id")
		}
	}
	if queueID == "" || s.logs.count(func(e logEntry) bool { return e.str("msg") == "delivered" && e.str("queue_id") == queueID }) != 1 {
		t.Errorf("no accepted/delivered log pair with one queue_id (%q)", queueID)
	}
}

func TestSwaksDeliveryOverSTARTTLS(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	s := startServer(t, "")
	s.addUser("carol@acme.test")
	body := "Subject: swaks test\r\nFrom: dave@remote.test\r\nTo: carol@acme.test\r\n\r\nsent by swaks over STARTTLS\r\n"
	dataFile := filepath.Join(t.TempDir(), "msg.eml")
	// swaks ends the data with CRLF itself.
	os.WriteFile(dataFile, []byte(strings.TrimSuffix(body, "\r\n")), 0o600)
	host, port, _ := strings.Cut(s.smtpAddr(), ":")
	out, err := exec.Command(swaks, "--server", host, "--port", port, "--tls", "--helo", "client.remote.test",
		"--from", "dave@remote.test", "--to", "carol@acme.test", "--data", dataFile).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("250 2.0.0 OK: queued as")) {
		t.Errorf("swaks transcript lacks the queued reply:\n%s", out)
	}
	s.waitDelivered("carol@acme.test", 1)
	files := s.newFiles("carol@acme.test")
	if len(files) != 1 {
		t.Fatalf("got %d files, want 1", len(files))
	}
	got := splitDelivered(t, files[0], "dave@remote.test", "carol@acme.test")
	if got != body {
		t.Errorf("delivered message differs:\n got %q\nwant %q", got, body)
	}
	if !strings.Contains(files[0], "with ESMTPS id") || !strings.Contains(files[0], "(TLS 1.") {
		t.Errorf("Received header does not record TLS: %q", files[0][:min(400, len(files[0]))])
	}
}

// smtpCode runs one transaction with the go-smtp client and returns the
// SMTP error of the first failing step (nil when all succeed).
func sendWithGo(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.remote.test"); err != nil {
		return err
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func wantSMTPError(t *testing.T, err error, code int, enhanced smtp.EnhancedCode) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want SMTP error %d", err, code)
	}
	if se.Code != code || se.EnhancedCode != enhanced {
		t.Fatalf("got %d %v %q, want %d %v", se.Code, se.EnhancedCode, se.Message, code, enhanced)
	}
}

func TestRecipientChecks(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, "")
	s.addUser("erin@acme.test")
	msg := []byte("Subject: x\r\n\r\nx\r\n")

	// Unknown local user: 550 5.1.1 at RCPT time.
	wantSMTPError(t, sendWithGo(s.smtpAddr(), "x@remote.test", []string{"nobody@acme.test"}, msg), 550, smtp.EnhancedCode{5, 1, 1})
	// A domain that is not ours: relaying is denied, 554 5.7.1.
	wantSMTPError(t, sendWithGo(s.smtpAddr(), "x@remote.test", []string{"victim@gmail.example"}, msg), 554, smtp.EnhancedCode{5, 7, 1})
	// Not even a local sender may relay on port 25.
	wantSMTPError(t, sendWithGo(s.smtpAddr(), "erin@acme.test", []string{"victim@gmail.example"}, msg), 554, smtp.EnhancedCode{5, 7, 1})

	// The same checks from python's smtplib, which reports per-recipient
	// refusals.
	script := `
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
with smtplib.SMTP(host, int(port), timeout=30) as s:
    refused = s.sendmail("x@remote.test", ["erin@acme.test", "ghost@acme.test", "v@elsewhere.example"], b"Subject: y\r\n\r\ny\r\n")
    for rcpt, (code, text) in sorted(refused.items()):
        print(rcpt, code, text.decode())
`
	out, err := exec.Command(py, "-c", script, s.smtpAddr()).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	for _, want := range []string{"ghost@acme.test 550 5.1.1", "v@elsewhere.example 554 5.7.1 Relay access denied"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("smtplib output lacks %q:\n%s", want, out)
		}
	}
	s.waitDelivered("erin@acme.test", 1)
}

func TestAliasAndCatchAll(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	for _, u := range []string{"frank@acme.test", "grace@acme.test", "heidi@acme.test"} {
		s.addUser(u)
	}
	s.mustMailctl("", "alias", "add", "team@acme.test", "frank@acme.test", "grace@acme.test")
	s.mustMailctl("", "alias", "add", "@acme.test", "heidi@acme.test")
	// A loop must not hang or multiply delivery.
	s.mustMailctl("", "alias", "add", "loop1@acme.test", "loop2@acme.test")
	s.mustMailctl("", "alias", "add", "loop2@acme.test", "loop1@acme.test", "frank@acme.test")

	msg := []byte("Subject: to the team\r\n\r\nhello team\r\n")
	if err := sendWithGo(s.smtpAddr(), "boss@remote.test", []string{"team@acme.test"}, msg); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("frank@acme.test", 1)
	s.waitDelivered("grace@acme.test", 1)
	// An unknown address of the domain reaches the catch-all; plus
	// addressing reaches the user.
	if err := sendWithGo(s.smtpAddr(), "boss@remote.test", []string{"random-123@acme.test", "grace+news@acme.test"}, msg); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("heidi@acme.test", 1)
	s.waitDelivered("grace@acme.test", 2)
	if err := sendWithGo(s.smtpAddr(), "boss@remote.test", []string{"loop1@acme.test"}, msg); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("frank@acme.test", 2)
	s.stop() // settle the queue before counting
	for user, n := range map[string]int{"frank@acme.test": 2, "grace@acme.test": 2, "heidi@acme.test": 1} {
		if got := len(s.newFiles(user)); got != n {
			t.Errorf("%s has %d messages, want %d", user, got, n)
		}
	}
	if got := s.newFiles("heidi@acme.test")[0]; !strings.Contains(got, "Delivered-To: heidi@acme.test\r\n") {
		t.Errorf("catch-all delivery lacks Delivered-To: %q", got[:min(200, len(got))])
	}
}

func TestOversizeMessageRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("ivan@acme.test")
	// 30 MB against the default 25 MiB limit. The client sends it all
	// (no SIZE parameter) so the server must read and discard it.
	big := make([]byte, 0, 30<<20)
	big = append(big, "Subject: big\r\n\r\n"...)
	line := strings.Repeat("x", 998) + "\r\n"
	for len(big) < 30_000_000 {
		big = append(big, line...)
	}
	c, err := smtp.Dial(s.smtpAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.remote.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("x@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("ivan@acme.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(big)
	wantSMTPError(t, w.Close(), 552, smtp.EnhancedCode{5, 3, 4})
	// The same connection keeps working.
	if err := c.SendMail("x@remote.test", []string{"ivan@acme.test"}, strings.NewReader("Subject: small\r\n\r\nsmall\r\n")); err != nil {
		t.Fatalf("after the oversize message: %v", err)
	}
	// A client that announces the size is refused at MAIL.
	err = c.Mail("x@remote.test", &smtp.MailOptions{Size: 30_000_000})
	wantSMTPError(t, err, 552, smtp.EnhancedCode{5, 3, 4})
	s.waitDelivered("ivan@acme.test", 1)
	if files := s.newFiles("ivan@acme.test"); len(files) != 1 || !strings.Contains(files[0], "small") {
		t.Errorf("want only the small message delivered, got %d files", len(files))
	}
	// Nothing of the big message is left in the queue.
	if ents, _ := os.ReadDir(filepath.Join(s.dataDir, "queue", "tmp")); len(ents) != 0 {
		t.Errorf("queue/tmp not empty: %v", ents)
	}
}

func TestTwoHundredMessagesTenConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("judy@acme.test")
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for conn := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(s.smtpAddr())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Hello("load.remote.test"); err != nil {
				errs <- err
				return
			}
			for i := range 20 {
				msg := fmt.Sprintf("Subject: load %d-%d\r\nMessage-ID: <%d.%d@load>\r\n\r\n%s\r\n", conn, i, conn, i, strings.Repeat("body ", 200))
				if err := c.SendMail("load@remote.test", []string{"judy@acme.test"}, strings.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("conn %d msg %d: %w", conn, i, err)
					return
				}
			}
			errs <- c.Quit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	accepted := time.Since(start)
	s.waitDelivered("judy@acme.test", 200)
	t.Logf("200 messages over 10 connections: all accepted after %v, all delivered after %v", accepted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	files := s.newFiles("judy@acme.test")
	seen := map[string]bool{}
	for _, f := range files {
		if m := regexp.MustCompile(`Message-ID: <(\d+\.\d+)@load>`).FindStringSubmatch(f); m != nil {
			seen[m[1]] = true
		}
	}
	if len(files) != 200 || len(seen) != 200 {
		t.Errorf("got %d files with %d distinct messages, want 200", len(files), len(seen))
	}
}
