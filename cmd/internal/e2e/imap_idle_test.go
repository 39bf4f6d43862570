package e2e

import (
	"strings"
	"testing"
)

// TestIMAPIdlePushesDeliveryAndFlags keeps one connection in IDLE while a
// message arrives over SMTP and a second connection flags a message: the
// idling client gets EXISTS and FETCH FLAGS without asking.
func TestIMAPIdlePushesDeliveryAndFlags(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("uma@acme.test")
	if err := sendWithGo(s.smtpAddr(), "x@remote.test", []string{"uma@acme.test"}, []byte("Subject: first\r\n\r\nfirst\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitDelivered("uma@acme.test", 1)
	smtpHost, smtpPort, _ := strings.Cut(s.smtpAddr(), ":")
	out := pyIMAP(t, s, "uma@acme.test", `
import smtplib, socket
a = imaplib.IMAP4_SSL(HOST, TLSPORT, ssl_context=CTX)
ok(a.login(USER, PASSWORD))
ok(a.select("INBOX"))
a.sock.settimeout(10)
tag = a._new_tag().decode()
a.send(f"{tag} IDLE\r\n".encode())
line = a.readline()
assert line.startswith(b"+"), line
print("IDLING")

def wait_for(word):
    while True:
        line = a.readline()
        print("PUSH", line.decode().strip())
        if word in line:
            return

with smtplib.SMTP("`+smtpHost+`", `+smtpPort+`) as m:
    m.sendmail("y@remote.test", ["uma@acme.test"], b"Subject: second\r\n\r\nsecond\r\n")
wait_for(b"EXISTS")

b = imaplib.IMAP4(HOST, PORT)
ok(b.starttls(ssl_context=CTX))
ok(b.login(USER, PASSWORD))
ok(b.select("INBOX"))
ok(b.store("1", "+FLAGS", "(\\Flagged)"))
wait_for(b"FETCH")
b.logout()

a.send(b"DONE\r\n")
while True:
    line = a.readline()
    if line.startswith(tag.encode()):
        print("DONE", line.decode().strip())
        break
a.logout()
`)
	for _, want := range []string{"IDLING", "PUSH * 2 EXISTS", `PUSH * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))`, "DONE"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
