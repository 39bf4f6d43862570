package e2e

import (
	"strings"
	"testing"
)

// TestIMAPMailboxCommands drives the mailbox commands of the new IMAP
// server with python's imaplib over STARTTLS: CAPABILITY, ID, NAMESPACE,
// CREATE/RENAME/DELETE, SUBSCRIBE/LSUB, LIST with special use, STATUS,
// APPEND with flags and date, GETQUOTAROOT from the quota set with
// mailctl, and an APPEND over quota refused.
func TestIMAPMailboxCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("mia@acme.test")
	s.mustMailctl("", "user", "quota", "mia@acme.test", "1M")
	out := pyIMAP(t, s, "mia@acme.test", `
c = imaplib.IMAP4(HOST, PORT)
ok(c.starttls(ssl_context=CTX))
ok(c.login(USER, PASSWORD))
typ, caps = c.capability()
print("CAPS", caps[0].decode())
typ, data = c.xatom("ID", '("name" "imaplib")')
print("ID", typ, c.untagged_responses.pop("ID", None))
typ, data = c.namespace()
print("NAMESPACE", typ, data[0].decode())
ok(c.create("Projects/2026"))
ok(c.rename("Projects/2026", "Projects/Done"))
ok(c.subscribe("Projects/Done"))
for line in ok(c.lsub('""', 'Projects/*')):
    print("LSUB", line.decode())
for line in ok(c.list('""', '*')):
    print("LIST", line.decode())
msg = b"From: mia@acme.test\r\nSubject: draft\r\n\r\nhello\r\n"
typ, data = c.append("Drafts", "(\\Draft $Later)", '"05-Dec-2026 09:08:07 +0100"', msg)
print("APPEND", typ, data[0].decode())
print("STATUS", ok(c.status("Drafts", "(MESSAGES UIDNEXT UNSEEN SIZE)"))[0].decode())
typ, data = c.getquotaroot("INBOX")
print("QUOTAROOT", typ, [x.decode() if isinstance(x, bytes) else x for x in data[0]], [x.decode() for x in data[1]])
typ, data = c.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"x" * (2 << 20))
print("BIG", typ, data[0].decode())
ok(c.delete("Projects/Done"))
typ, data = c.delete("INBOX")
print("DELINBOX", typ, data[0].decode())
c.logout()
`)
	for _, want := range []string{
		"QUOTA=RES-STORAGE", "MULTIAPPEND", "LIST-STATUS",
		`ID OK [b'("name" "Yubin" "vendor" "Yubin")']`,
		`NAMESPACE OK (("" "/")) NIL NIL`,
		`LSUB () "/" "Projects/Done"`,
		`LIST (\Noselect \HasChildren) "/" "Projects"`, `LIST (\HasNoChildren) "/" "Projects/Done"`, `LIST (\HasNoChildren \Drafts) "/" "Drafts"`,
		"APPEND OK [APPENDUID ", `STATUS Drafts (MESSAGES 1 UIDNEXT 2 UNSEEN 1 SIZE 46)`,
		`QUOTAROOT OK ['INBOX ""'] ['"" (STORAGE 1 1024)']`,
		"BIG NO [OVERQUOTA]", "DELINBOX NO [CANNOT] INBOX cannot be deleted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("imaplib output lacks %q:\n%s", want, out)
		}
	}
	msgs := s.maildirList("mia@acme.test", ".Drafts")
	if len(msgs) != 1 || !strings.HasSuffix(msgs[0], ":2,D") {
		t.Errorf("Drafts files = %v, want one ending :2,D", msgs)
	}
}
