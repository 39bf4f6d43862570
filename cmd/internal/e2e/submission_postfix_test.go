package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSubmissionToPostfixSignedAndBounced is the whole sending path with
// real peers: a user submits over 587 and 465, the queue finds remote.test's
// MX in the test DNS and delivers to a real Postfix, and an independent
// verifier (python3-dkim) checks the DKIM signature against the record
// `mailctl dkim generate` printed. A recipient Postfix refuses comes back
// to the sender as a DSN.
func TestSubmissionToPostfixSignedAndBounced(t *testing.T) {
	t.Parallel()
	// Debian's python3-dkim imports only under Debian's own python3.
	pyDKIM := "/usr/bin/python3"
	if err := exec.Command(pyDKIM, "-c", "import dkim").Run(); err != nil {
		skipOrFail(t, "python3-dkim not installed: %v", err)
	}
	pf := startPostfix(t)
	dns := startDNS(t, remoteZone(pf.Domain)...)
	s := startServer(t, "",
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(pf.Port))
	s.addUser("amy@acme.test")
	zone := s.mustMailctl("", "dkim", "generate", "acme.test")
	m := regexp.MustCompile(`^(\S+)\. IN TXT (.*)\n$`).FindStringSubmatch(zone)
	if m == nil {
		t.Fatalf("dkim generate printed %q", zone)
	}
	recordName := m[1]
	var record strings.Builder
	for _, part := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[2], -1) {
		record.WriteString(part[1])
	}

	for i, implicit := range []bool{false, true} {
		msg := "From: Amy <amy@acme.test>\r\nTo: Bob <bob@remote.test>\r\nSubject: signed " + strconv.Itoa(i) + "\r\n\r\nHello Bob,\r\nthis is signed.\r\n"
		addr := s.addrs["submission"]
		if implicit {
			addr = s.addrs["submissions"]
		}
		if err := submit(t, addr, implicit, "amy@acme.test", "amy@acme.test", []string{"bob@remote.test"}, msg); err != nil {
			t.Fatalf("submit (implicit TLS %v): %v", implicit, err)
		}
	}
	got := pf.WaitMaildir("bob", 2)
	dir := t.TempDir()
	for i, raw := range got {
		if !strings.Contains(raw, "DKIM-Signature: ") || !strings.Contains(raw, "with ESMTPSA") {
			t.Errorf("message %d at Postfix lacks DKIM-Signature or ESMTPSA:\n%s", i, raw)
		}
		p := filepath.Join(dir, "msg"+strconv.Itoa(i))
		os.WriteFile(p, []byte(raw), 0o600)
		out, err := exec.Command(pyDKIM, "-c", `
import dkim, sys
name, record, path = sys.argv[1], sys.argv[2], sys.argv[3]
def dnsfunc(q, timeout=5):
    return record.encode() if q.decode().rstrip(".") == name else None
msg = open(path, "rb").read()
print("VERIFIED" if dkim.verify(msg, dnsfunc=dnsfunc) else "FAILED")
`, recordName, record.String(), p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "VERIFIED") {
			t.Errorf("dkimverify of message %d: %v %s", i, err, out)
		}
	}

	// A script on the server uses sendmail -t: the remote copy reaches
	// Postfix, the local one amy's INBOX.
	cmd := exec.Command(filepath.Join(binDir, "mailctl"), "--data", s.dataDir, "sendmail", "-t", "-f", "amy@acme.test")
	cmd.Stdin = strings.NewReader("From: amy@acme.test\nTo: bob@remote.test\nCc: amy@acme.test\nSubject: from cron\n\nnightly report\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail -t: %v\n%s", err, out)
	}
	if got := pf.WaitMaildir("bob", 3); !strings.Contains(strings.Join(got, ""), "nightly report") {
		t.Errorf("sendmail's remote copy did not reach Postfix")
	}
	s.waitDelivered("amy@acme.test", 1)

	// Postfix refuses an unknown recipient with 550: amy gets one DSN and
	// the message leaves the queue.
	msg := "From: amy@acme.test\r\nTo: nobody@remote.test\r\nSubject: to nobody\r\n\r\nx\r\n"
	if err := submit(t, s.addrs["submissions"], true, "amy@acme.test", "amy@acme.test", []string{"nobody@remote.test"}, msg); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("amy@acme.test", 2)
	var dsn []string
	for _, f := range s.newFiles("amy@acme.test") {
		if strings.Contains(f, "multipart/report") {
			dsn = append(dsn, f)
		}
	}
	if len(dsn) != 1 || !strings.Contains(dsn[0], "multipart/report") || !strings.Contains(dsn[0], "Final-Recipient: rfc822; nobody@remote.test") ||
		!strings.Contains(dsn[0], "Status: 5.") || !strings.Contains(dsn[0], "Subject: to nobody") {
		t.Errorf("DSN in amy's INBOX:\n%s", strings.Join(dsn, "\n----\n"))
	}
}
