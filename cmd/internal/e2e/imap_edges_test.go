package e2e

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

// TestIMAPIdleFlushesPending: a message that arrives after the client's
// last command reaches it right after "+ idling" (python's imaplib, as
// Thunderbird and imapflow do it), not only when IDLE ends.
func TestIMAPIdleFlushesPending(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("ida@acme.test")
	smtpHost, smtpPort, _ := strings.Cut(s.smtpAddr(), ":")
	out := pyIMAP(t, s, "ida@acme.test", `
import smtplib
a = imaplib.IMAP4_SSL(HOST, TLSPORT, ssl_context=CTX)
ok(a.login(USER, PASSWORD))
ok(a.select("INBOX"))
# A second connection, idling already, sees the delivery: then a has it
# pending too.
b = imaplib.IMAP4_SSL(HOST, TLSPORT, ssl_context=CTX)
ok(b.login(USER, PASSWORD))
ok(b.select("INBOX"))
b.sock.settimeout(10)
btag = b._new_tag().decode()
b.send(f"{btag} IDLE\r\n".encode())
assert b.readline().startswith(b"+")
with smtplib.SMTP("`+smtpHost+`", `+smtpPort+`) as m:
    m.sendmail("y@remote.test", ["ida@acme.test"], b"Subject: early\r\n\r\nearly\r\n")
while b"EXISTS" not in b.readline():
    pass
b.send(b"DONE\r\n")
while not b.readline().startswith(btag.encode()):
    pass
b.logout()

a.sock.settimeout(10)
tag = a._new_tag().decode()
a.send(f"{tag} IDLE\r\n".encode())
line = a.readline()
assert line.startswith(b"+"), line
print("IDLING")
print("PUSH", a.readline().decode().strip())
a.send(b"DONE\r\n")
while not a.readline().startswith(tag.encode()):
    pass
a.logout()
`)
	if !strings.Contains(out, "PUSH * 1 EXISTS") {
		t.Errorf("no EXISTS right after IDLE started:\n%s", out)
	}
}

// TestIMAPByeOnShutdown: SIGTERM sends "* BYE" to logged-in sessions
// before maild closes them.
func TestIMAPByeOnShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("bea@acme.test")
	c, err := tls.Dial("tcp", s.addrs["imaps"], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, l)
		}
		return strings.TrimRight(l, "\r\n")
	}
	read() // greeting
	c.Write([]byte("a LOGIN bea@acme.test secret-pw\r\nb SELECT INBOX\r\n"))
	for l := read(); !strings.HasPrefix(l, "b "); l = read() {
	}
	s.stop()
	if l := read(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("after SIGTERM: %q, want * BYE", l)
	}
}
