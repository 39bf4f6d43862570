package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// submit sends msg over submission (587 with STARTTLS, or 465) as user.
func submit(t *testing.T, addr string, implicitTLS bool, user, from string, to []string, msg string) error {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true}
	var c *smtp.Client
	var err error
	if implicitTLS {
		c, err = smtp.DialTLS(addr, cfg)
	} else {
		c, err = smtp.DialStartTLS(addr, cfg)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, "secret-pw")); err != nil {
			return err
		}
	}
	if err := c.SendMail(from, to, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// TestSubmission covers the MSA: AUTH PLAIN on 587 (STARTTLS) and 465,
// AUTH LOGIN from python's smtplib, header fix-up, sender enforcement and
// refusals, and local delivery without leaving the host.
func TestSubmission(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("amy@acme.test")
	s.addUser("ben@acme.test")
	s.mustMailctl("", "alias", "add", "sales@acme.test", "amy@acme.test")

	msg := "From: Amy <amy@acme.test>\r\nTo: ben@acme.test\r\nSubject: over 587\r\n\r\nhello Ben\r\n"
	if err := submit(t, s.addrs["submission"], false, "amy@acme.test", "amy@acme.test", []string{"ben@acme.test"}, msg); err != nil {
		t.Fatalf("submit over 587: %v", err)
	}
	// An alias that resolves to the user is hers to send as.
	msg2 := "From: Sales <sales@acme.test>\r\nTo: ben@acme.test\r\nSubject: over 465\r\n\r\nfrom sales\r\n"
	if err := submit(t, s.addrs["submissions"], true, "amy@acme.test", "sales@acme.test", []string{"ben@acme.test"}, msg2); err != nil {
		t.Fatalf("submit over 465 as an alias: %v", err)
	}
	s.waitDelivered("ben@acme.test", 2)
	files := s.newFiles("ben@acme.test")
	joined := strings.Join(files, "\n=====\n")
	for _, want := range []string{"with ESMTPSA id", "Message-Id: <", "Date: ", "hello Ben", "from sales", "Return-Path: <amy@acme.test>"} {
		if !strings.Contains(joined, want) {
			t.Errorf("delivered submissions lack %q:\n%s", want, joined)
		}
	}

	// Refusals.
	wantSMTPError(t, submit(t, s.addrs["submission"], false, "", "amy@acme.test", []string{"ben@acme.test"}, msg), 530, smtp.EnhancedCode{5, 7, 0})
	wantSMTPError(t, submit(t, s.addrs["submission"], false, "amy@acme.test", "ben@acme.test", []string{"ben@acme.test"}, msg), 553, smtp.EnhancedCode{5, 7, 1})
	forged := "From: Ben <ben@acme.test>\r\nTo: x@remote.test\r\nSubject: forged\r\n\r\nnot from ben\r\n"
	wantSMTPError(t, submit(t, s.addrs["submission"], false, "amy@acme.test", "amy@acme.test", []string{"x@remote.test"}, forged), 553, smtp.EnhancedCode{5, 7, 1})

	// AUTH LOGIN, as Outlook does it, from python's smtplib.
	py := needTool(t, "python3")
	host, port, _ := strings.Cut(s.addrs["submission"], ":")
	out, err := exec.Command(py, "-c", `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30) as s:
    s.starttls(context=ctx)
    s.ehlo()
    print("AUTH", s.esmtp_features.get("auth"))
    s.user, s.password = "amy@acme.test", "secret-pw"
    code, resp = s.auth("LOGIN", s.auth_login)
    print("LOGIN", code)
    s.sendmail("amy+news@acme.test", ["ben@acme.test"], b"Subject: via LOGIN\r\n\r\nlogin works\r\n")
    print("SENT")
`, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "LOGIN 235") || !strings.Contains(string(out), "SENT") || !strings.Contains(string(out), "PLAIN LOGIN") {
		t.Errorf("smtplib AUTH LOGIN: %v\n%s", err, out)
	}
	s.waitDelivered("ben@acme.test", 3)
	var viaLogin string
	for _, f := range s.newFiles("ben@acme.test") {
		if strings.Contains(f, "login works") {
			viaLogin = f
		}
	}
	// A missing From: is added from the envelope sender.
	if !strings.Contains(viaLogin, "From: <amy+news@acme.test>") {
		t.Errorf("From: not added: %q", viaLogin)
	}
}

// TestSubmissionNeedsTLS: in production mode AUTH is neither offered nor
// accepted before STARTTLS on 587, and port 25 never relays.
func TestSubmissionNeedsTLS(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", "auth.plaintext_on_loopback = false")
	s.addUser("cat@acme.test")
	c, err := smtp.Dial(s.addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered on 587")
	}
	// A client that tries anyway gets an error, not a login.
	raw, err := net.Dial("tcp", s.addrs["submission"])
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(raw)
	readReply := func() string {
		var last string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "EOF"
			}
			last = l
			if len(l) < 4 || l[3] != '-' {
				return last
			}
		}
	}
	readReply()
	fmt.Fprintf(raw, "EHLO client.test\r\n")
	readReply()
	fmt.Fprintf(raw, "AUTH PLAIN %s\r\n", base64.StdEncoding.EncodeToString([]byte("\x00cat@acme.test\x00secret-pw")))
	if l := readReply(); strings.HasPrefix(l, "235") || strings.HasPrefix(l, "2") {
		t.Errorf("AUTH before STARTTLS got %q", l)
	}
	fmt.Fprintf(raw, "MAIL FROM:<cat@acme.test>\r\n")
	if l := readReply(); !strings.HasPrefix(l, "530 5.7.0") {
		t.Errorf("MAIL without AUTH got %q, want 530 5.7.0", l)
	}
	// Port 25 refuses relaying even for a local sender.
	wantSMTPError(t, sendWithGo(s.smtpAddr(), "cat@acme.test", []string{"victim@elsewhere.example"}, []byte("Subject: x\r\n\r\nx\r\n")), 554, smtp.EnhancedCode{5, 7, 1})
}
