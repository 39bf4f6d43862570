package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"yubin/delivery"
)

// swaksTranscript runs swaks against addr with a message from a file and
// returns its transcript; a refusal is a normal outcome here, so the exit
// status is not an error.
func swaksTranscript(t *testing.T, addr, msg string, args ...string) string {
	t.Helper()
	swaks := needTool(t, "swaks")
	dataFile := filepath.Join(t.TempDir(), "msg.eml")
	// swaks ends the data with CRLF itself.
	if err := os.WriteFile(dataFile, []byte(strings.TrimSuffix(msg, "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	all := append([]string{"--server", host, "--port", port, "--helo", "client.remote.test", "--data", "@" + dataFile}, args...)
	out, _ := exec.Command(swaks, all...).CombinedOutput()
	return string(out)
}

// TestInboundOneFrom: on port 25 a message must have exactly one From
// field with one address in a usable domain, whatever the DMARC result.
// A second From used to turn DMARC into permerror and let a forged
// author past p=reject into INBOX.
func TestInboundOneFrom(t *testing.T) {
	t.Parallel()
	d := startDNS(t,
		`bank.example. TXT "v=spf1 -all"`,
		`_dmarc.bank.example. TXT "v=DMARC1; p=reject"`,
		`remote.test. TXT "v=spf1 ip4:127.0.0.1 -all"`,
	)
	resolver := failingDNS(t, d)
	s := startServer(t, "", `senderauth.enabled = true`, `dns.resolver = "`+resolver+`"`)
	s.addUser("victim@acme.test")

	const body = "To: victim@acme.test\r\nSubject: wire the money\r\n\r\nNow.\r\n"
	for _, tc := range []struct {
		name, from, head, want string
	}{
		// Today's right behaviour: one forged From fails DMARC p=reject.
		{"one forged From", "ceo@bank.example", "From: CEO <ceo@bank.example>\r\n", "550 5.7.1 Message rejected: DMARC policy of bank.example"},
		{"second From", "ceo@bank.example", "From: CEO <ceo@bank.example>\r\nFrom: Other <x@remote.test>\r\n", "550 5.7.1 Message refused: Message has 2 From: fields"},
		{"second From, passing sender", "x@remote.test", "From: x@remote.test\r\nFrom: CEO <ceo@bank.example>\r\n", "550 5.7.1 Message refused: Message has 2 From: fields"},
		{"no From", "x@remote.test", "", "550 5.7.1 Message refused: Message has no From: field"},
		{"two domains", "x@remote.test", "From: x@remote.test, CEO <ceo@bank.example>\r\n", "550 5.7.1 Message refused: From: field names more than one address"},
		{"unparsable", "x@remote.test", "From: CEO ceo at bank.example\r\n", "550 5.7.1 Message refused: From: field does not parse"},
		{"no usable domain", "x@remote.test", "From: CEO <ceo@localhost>\r\n", "550 5.7.1 Message refused: From: address has no usable domain"},
	} {
		out := swaksTranscript(t, s.smtpAddr(), tc.head+body, "--from", tc.from, "--to", "victim@acme.test")
		if !strings.Contains(out, "<** "+tc.want) {
			t.Errorf("%s: transcript lacks %q:\n%s", tc.name, tc.want, out)
		}
	}
	// One good From still passes (python smtplib as the client).
	py := needTool(t, "python3")
	out, err := exec.Command(py, "-c", `
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
with smtplib.SMTP(host, int(port), timeout=30) as s:
    s.sendmail("x@remote.test", ["victim@acme.test"], b"From: X <x@remote.test>\r\nTo: victim@acme.test\r\nSubject: fine\r\n\r\nok\r\n")
    try:
        s.sendmail("x@remote.test", ["victim@acme.test"], b"From: X <x@remote.test>\r\nFrom: CEO <ceo@bank.example>\r\nSubject: two\r\n\r\nno\r\n")
        print("ACCEPTED")
    except smtplib.SMTPDataError as e:
        print("REFUSED", e.smtp_code, e.smtp_error.decode())
`, s.smtpAddr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REFUSED 550 5.7.1 Message refused: Message has 2 From: fields") {
		t.Errorf("smtplib: %v\n%s", err, out)
	}
	s.waitDelivered("victim@acme.test", 1)
	files := s.newFiles("victim@acme.test")
	if len(files) != 1 || !strings.Contains(files[0], "Subject: fine") || !strings.Contains(files[0], "dmarc=none header.from=remote.test") {
		t.Errorf("delivered: %q", files)
	}

	// A trusted relay's mail is labelled (dmarc=fail), not refused.
	tr := startServer(t, "", `senderauth.enabled = true`, `dns.resolver = "`+resolver+`"`, `senderauth.trusted = ["127.0.0.1/32"]`)
	tr.addUser("victim@acme.test")
	out2 := swaksTranscript(t, tr.smtpAddr(), "From: CEO <ceo@bank.example>\r\nFrom: x@remote.test\r\n"+body, "--from", "x@remote.test", "--to", "victim@acme.test")
	if !strings.Contains(out2, "250 2.0.0 OK") {
		t.Fatalf("trusted relay refused:\n%s", out2)
	}
	tr.waitDelivered("victim@acme.test", 1)
	if f := tr.newFiles("victim@acme.test"); len(f) != 1 || !strings.Contains(f[0], "dmarc=fail") || !strings.Contains(f[0], "2 From: fields") {
		t.Errorf("trusted delivery: %q", f)
	}
}

// TestSubmissionOriginatorFields: an authenticated user may name only
// addresses of her own in From (one field), Sender, Resent-From and
// Resent-Sender; anything else is 553 5.7.1 before it is DKIM-signed.
func TestSubmissionOriginatorFields(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	s.addUser("bob@acme.test")
	s.mustMailctl("", "alias", "add", "sales@acme.test", "alice@acme.test")
	host, port, _ := strings.Cut(s.addrs["submission"], ":")
	out, err := exec.Command(py, "-c", `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
cases = [
    ("twofrom", "From: alice@acme.test\r\nFrom: Bob CEO <bob@acme.test>\r\n"),
    ("sender", "From: alice@acme.test\r\nSender: bob@acme.test\r\n"),
    ("resentfrom", "From: alice@acme.test\r\nResent-From: Bob <bob@acme.test>\r\n"),
    ("resentsender", "From: alice@acme.test\r\nResent-From: alice@acme.test\r\nResent-Sender: bob@acme.test\r\n"),
    ("ownsender", "From: Sales <sales@acme.test>\r\nSender: alice@acme.test\r\nResent-From: sales@acme.test\r\n"),
]
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30) as s:
    s.starttls(context=ctx)
    s.login("alice@acme.test", "secret-pw")
    for name, head in cases:
        msg = (head + "To: bob@acme.test\r\nSubject: " + name + "\r\n\r\nhi\r\n").encode()
        try:
            s.sendmail("alice@acme.test", ["bob@acme.test"], msg)
            print(name, "ACCEPTED")
        except smtplib.SMTPDataError as e:
            print(name, e.smtp_code, e.smtp_error.decode())
`, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	for _, want := range []string{
		"twofrom 553 5.7.1 Message has 2 From: fields; RFC 5322 allows one",
		"sender 553 5.7.1 Sender: address <bob@acme.test> is not yours to use",
		"resentfrom 553 5.7.1 Resent-From: address <bob@acme.test> is not yours to use",
		"resentsender 553 5.7.1 Resent-Sender: address <bob@acme.test> is not yours to use",
		"ownsender ACCEPTED",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("smtplib output lacks %q:\n%s", want, out)
		}
	}
	s.waitDelivered("bob@acme.test", 1)
	if f := s.newFiles("bob@acme.test"); len(f) != 1 || !strings.Contains(f[0], "Subject: ownsender") {
		t.Errorf("bob got %d messages, want only ownsender", len(f))
	}
}

// TestSRSOnlyBounces: a valid SRS address takes bounces (MAIL FROM:<>)
// but refuses other senders at RCPT; it used to relay their mail on to
// the original sender.
func TestSRSOnlyBounces(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	key, err := delivery.LoadSRSKey(filepath.Join(s.dataDir, "srs.key"))
	if err != nil {
		t.Fatal(err)
	}
	srs := &delivery.SRS{Key: key, Domain: "mail.example.test"}
	addr := srs.Forward("carol@remote.example")
	const msg = "From: MAILER-DAEMON@mx.remote.example\r\nTo: x\r\nSubject: Undelivered Mail\r\n\r\nbounce\r\n"
	out := swaksTranscript(t, s.smtpAddr(), msg, "--from", "spammer@evil.example", "--to", addr)
	if !strings.Contains(out, "<** 550 5.7.1 SRS addresses accept only bounces (MAIL FROM:<>)") {
		t.Errorf("SRS from a real sender:\n%s", out)
	}
	out = swaksTranscript(t, s.smtpAddr(), msg, "--from", "<>", "--to", addr)
	if !strings.Contains(out, "250 2.0.0 OK: queued as") {
		t.Errorf("bounce to an SRS address:\n%s", out)
	}
}

// TestSieveInvalidFolder: a script filing into a name storage cannot hold
// is refused by mailctl; one stored before that check (written here
// straight into the database) files the mail into INBOX with a warning
// instead of deferring it for days and bouncing it.
func TestSieveInvalidFolder(t *testing.T) {
	t.Parallel()
	py := needTool(t, "python3")
	s := startServer(t, "")
	s.addUser("ann@acme.test")
	script := "require \"fileinto\";\nif header :contains \"subject\" \"project\" { fileinto \"Projects.2024\"; }\n"
	_, stderr, err := s.mailctl(script, "rule", "set", "ann@acme.test", "-")
	if err == nil || !strings.Contains(stderr, `fileinto "Projects.2024"`) || !strings.Contains(stderr, "use '/'") {
		t.Errorf("mailctl rule set accepted an invalid folder: %v\n%s", err, stderr)
	}
	out, err := exec.Command(py, "-c", `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("INSERT OR REPLACE INTO sieve_scripts (local, domain, script, updated) VALUES ('ann', 'acme.test', ?, ?)", (sys.argv[2], int(time.time())))
db.commit()
`, filepath.Join(s.dataDir, "yubin.db"), script).CombinedOutput()
	if err != nil {
		t.Fatalf("store script: %v\n%s", err, out)
	}
	tr := swaksTranscript(t, s.smtpAddr(), "From: pm@remote.test\r\nTo: ann@acme.test\r\nSubject: project plan\r\n\r\nplan\r\n",
		"--from", "pm@remote.test", "--to", "ann@acme.test")
	if !strings.Contains(tr, "250 2.0.0 OK") {
		t.Fatalf("swaks:\n%s", tr)
	}
	s.waitDelivered("ann@acme.test", 1)
	if f := s.newFiles("ann@acme.test"); len(f) != 1 || !strings.Contains(f[0], "Subject: project plan") {
		t.Errorf("INBOX: %d messages", len(f))
	}
	if s.logs.count(func(e logEntry) bool {
		return e.str("msg") == "sieve fileinto names an invalid folder; delivering to INBOX" && e.str("mailbox") == "Projects.2024"
	}) != 1 {
		t.Errorf("no warning logged")
	}
}

// TestPostmasterWithoutAlias: postmaster@ of a local domain is accepted
// without a user or alias (RFC 5321 §4.5.1) and delivered to the
// domain's first user, or to delivery.postmaster when set.
func TestPostmasterWithoutAlias(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("zoe@acme.test")
	s.addUser("adam@acme.test")
	tr := swaksTranscript(t, s.smtpAddr(), "From: x@remote.test\r\nTo: postmaster@acme.test\r\nSubject: abuse report\r\n\r\nreport\r\n",
		"--from", "x@remote.test", "--to", "PostMaster@acme.test")
	if !strings.Contains(tr, "250 2.0.0 OK: queued as") {
		t.Fatalf("postmaster refused:\n%s", tr)
	}
	s.waitDelivered("zoe@acme.test", 1)
	if f := s.newFiles("zoe@acme.test"); len(f) != 1 || !strings.Contains(f[0], "abuse report") {
		t.Errorf("zoe (first user): %d messages", len(f))
	}
	// Other unknown local parts are still refused.
	tr = swaksTranscript(t, s.smtpAddr(), "From: x@remote.test\r\n\r\nx\r\n", "--from", "x@remote.test", "--to", "webmaster@acme.test")
	if !strings.Contains(tr, "<** 550 5.1.1") {
		t.Errorf("webmaster accepted:\n%s", tr)
	}

	c := startServer(t, "", `delivery.postmaster = "adam@acme.test"`)
	c.addUser("zoe@acme.test")
	c.addUser("adam@acme.test")
	c.addUser("x@other.test")
	tr = swaksTranscript(t, c.smtpAddr(), "From: x@remote.test\r\nSubject: report 2\r\n\r\nreport\r\n",
		"--from", "x@remote.test", "--to", "postmaster@other.test")
	if !strings.Contains(tr, "250 2.0.0 OK: queued as") {
		t.Fatalf("postmaster@other.test refused:\n%s", tr)
	}
	c.waitDelivered("adam@acme.test", 1)
	if out := c.mustMailctl("", "route", "postmaster@acme.test"); !strings.Contains(out, "adam@acme.test") {
		t.Errorf("mailctl route postmaster@acme.test: %s", out)
	}
}
