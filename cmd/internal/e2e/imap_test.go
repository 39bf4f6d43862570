package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// pyIMAP runs a python3 imaplib script with HOST, PORT, TLSPORT, USER and
// PASSWORD bound, and returns its output.
func pyIMAP(t *testing.T, s *server, user, script string) string {
	t.Helper()
	py := needTool(t, "python3")
	host, port, _ := strings.Cut(s.addrs["imap"], ":")
	_, tlsPort, _ := strings.Cut(s.addrs["imaps"], ":")
	prelude := fmt.Sprintf(`
import imaplib, ssl, sys, time, re
HOST, PORT, TLSPORT, USER, PASSWORD = %q, %d, %d, %q, "secret-pw"
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
def ok(r):
    typ, data = r
    assert typ == "OK", (typ, data)
    return data
`, host, atoi(port), atoi(tlsPort), user)
	cmd := exec.Command(py, "-c", prelude+script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib script failed: %v\n%s", err, out)
	}
	return string(out)
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// TestIMAPThunderbirdFirstSync walks through what Thunderbird does on its
// first sync, with python's imaplib: STARTTLS and implicit TLS logins, LIST
// with special use, SELECT, FETCH headers and bodies, STORE \Seen, MOVE to
// Trash, EXPUNGE, APPEND to Sent.
func TestIMAPThunderbirdFirstSync(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("tom@acme.test")
	for i := range 3 {
		msg := fmt.Sprintf("From: sender%d@remote.test\r\nTo: tom@acme.test\r\nSubject: hello %d\r\nMessage-ID: <%d@remote.test>\r\n\r\nbody number %d\r\n", i, i, i, i)
		if err := sendWithGo(s.smtpAddr(), fmt.Sprintf("sender%d@remote.test", i), []string{"tom@acme.test"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		s.waitDelivered("tom@acme.test", i+1) // UIDs in sending order
	}
	out := pyIMAP(t, s, "tom@acme.test", `
# STARTTLS on the plain port, then implicit TLS on the other.
c = imaplib.IMAP4(HOST, PORT)
ok(c.starttls(ssl_context=CTX))
ok(c.login(USER, PASSWORD))
c.logout()

c = imaplib.IMAP4_SSL(HOST, TLSPORT, ssl_context=CTX)
caps = c.capabilities
ok(c.login(USER, PASSWORD))
typ, caps = c.capability()
print("CAPS", caps[0].decode())
data = ok(c.list('""', '*'))
for line in data:
    print("LIST", line.decode())
typ, data = c.select("INBOX")
assert typ == "OK"
print("EXISTS", data[0].decode())
data = ok(c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"))
subjects = [x[1].decode() for x in data if isinstance(x, tuple)]
print("SUBJECTS", "|".join(s.strip().replace("\r\n", " ") for s in subjects))
data = ok(c.fetch("1", "(BODY[])"))
print("BODY1", data[0][1].decode().count("body number 0"))
data = ok(c.fetch("1", "(FLAGS)"))
print("FLAGS1", data[0].decode())
ok(c.store("2", "+FLAGS", "(\\Seen \\Flagged)"))
data = ok(c.search(None, "UNSEEN"))
print("UNSEEN", data[0].decode())
data = ok(c.search(None, "SUBJECT", '"hello 2"'))
print("SEARCHSUBJ", data[0].decode())
data = ok(c.search(None, "BODY", '"number 1"'))
print("SEARCHBODY", data[0].decode())
typ, data = c._simple_command("MOVE", "3", "Trash")
assert typ == "OK", (typ, data)
ok(c.store("1", "+FLAGS", "(\\Deleted)"))
data = ok(c.expunge())
print("EXPUNGED", data)
data = ok(c.status("Trash", "(MESSAGES UIDNEXT UNSEEN SIZE)"))
print("TRASH", data[0].decode())
msg = b"From: tom@acme.test\r\nTo: x@remote.test\r\nSubject: sent copy\r\n\r\nhi\r\n"
data = ok(c.append("Sent", "(\\Seen)", imaplib.Time2Internaldate(time.time()), msg))
print("APPEND", c.untagged_responses.get("APPENDUID", data))
typ, data = c.select("Sent")
print("SENT", data[0].decode())
data = ok(c.fetch("1", "(FLAGS BODY.PEEK[])"))
print("SENTBODY", data[0][1] == msg, data[0][0].decode())
c.logout()
`)
	for _, want := range []string{
		"IMAP4rev2", "MOVE", "UIDPLUS", "SPECIAL-USE", "IDLE", "NAMESPACE", "APPENDLIMIT=",
		`LIST (\HasNoChildren \Sent) "/" "Sent"`, `\Trash) "/" "Trash"`, `\Junk) "/" "Junk"`, `\Drafts) "/" "Drafts"`, `\Archive) "/" "Archive"`,
		"EXISTS 3", "SUBJECTS From: sender0@remote.test Subject: hello 0|From: sender1@remote.test Subject: hello 1", "BODY1 1", `FLAGS1 1 (FLAGS (\Seen \Recent))`,
		"UNSEEN 3", "SEARCHSUBJ 3", "SEARCHBODY 2", `TRASH "Trash" (MESSAGES 1 UIDNEXT 2 UNSEEN 1 SIZE `, "SENT 1", "SENTBODY True",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("imaplib output lacks %q:\n%s", want, out)
		}
	}
	// The Maildir shows the same state to other tools: INBOX keeps one
	// message (seen and flagged), Trash has one, Sent one with S.
	inbox := s.maildirList("tom@acme.test", "")
	if len(inbox) != 1 || !strings.HasSuffix(inbox[0], ":2,FS") {
		t.Errorf("INBOX files = %v, want one ending :2,FS", inbox)
	}
	if trash := s.maildirList("tom@acme.test", ".Trash"); len(trash) != 1 {
		t.Errorf("Trash files = %v", trash)
	}
	if sent := s.maildirList("tom@acme.test", ".Sent"); len(sent) != 1 || !strings.HasSuffix(sent[0], ":2,S") {
		t.Errorf("Sent files = %v", sent)
	}
}
