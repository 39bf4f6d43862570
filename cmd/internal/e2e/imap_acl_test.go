package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestIMAPACLImaplib drives the ACL commands (RFC 4314) with python's
// imaplib (getacl, setacl, deleteacl, myrights; LISTRIGHTS raw), then takes
// a backup with mailctl, restores it into a new data directory, and
// checks that the restored server still has the list.
func TestIMAPACLImaplib(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("owner@acme.test")
	s.addUser("friend@acme.test")
	out := pyIMAP(t, s, "owner@acme.test", `
c = imaplib.IMAP4(HOST, PORT)
ok(c.login(USER, PASSWORD))
caps = ok(c.capability())[0].decode().split()
assert "ACL" in caps and "RIGHTS=texk" in caps, caps
ok(c.setacl("INBOX", "friend@acme.test", "lrs"))
ok(c.setacl("INBOX", "friend@acme.test", "+w"))
ok(c.setacl("INBOX", "anyone", "l"))
print("GETACL", ok(c.getacl("INBOX"))[0].decode())
print("MYRIGHTS", ok(c.myrights("INBOX"))[0].decode())
# imaplib has no listrights: register the command first.
imaplib.Commands["LISTRIGHTS"] = ("AUTH", "SELECTED")
typ, dat = c._simple_command("LISTRIGHTS", "INBOX", "anyone")
print("LISTRIGHTS", ok(c._untagged_response(typ, dat, "LISTRIGHTS"))[0].decode())
typ, data = c.setacl("INBOX", "nobody@acme.test", "l")
print("UNKNOWN", typ, data[0].decode())
try:
    c.setacl("INBOX", "anyone", "lq")
    print("BADRIGHTS accepted")
except imaplib.IMAP4.error as e:
    print("BADRIGHTS", e)
ok(c.deleteacl("INBOX", "anyone"))
print("AFTER", ok(c.getacl("INBOX"))[0].decode())
c.logout()
`)
	for _, want := range []string{
		"GETACL INBOX owner@acme.test lrswipkxtecda anyone l friend@acme.test lrsw\n",
		"MYRIGHTS INBOX lrswipkxtecda\n",
		`LISTRIGHTS INBOX anyone "" l r s w i p k x t e a c d` + "\n",
		"UNKNOWN NO [CANNOT] Unknown identifier",
		"BADRIGHTS SETACL command error: BAD",
		"AFTER INBOX owner@acme.test lrswipkxtecda friend@acme.test lrsw\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("imaplib output lacks %q:\n%s", want, out)
		}
	}

	// mailctl backup copies the index whole: the list survives a restore.
	bdir := filepath.Join(t.TempDir(), "backup")
	s.mustMailctl("", "backup", bdir)
	r := &server{t: t, dataDir: filepath.Join(t.TempDir(), "restored")}
	if o, e, err := r.mailctl("", "restore", bdir); err != nil {
		t.Fatalf("restore: %v\n%s%s", err, o, e)
	}
	if o, e, err := r.mailctl("", "verify"); err != nil {
		t.Fatalf("verify after restore: %v\n%s%s", err, o, e)
	}
	r = startServer(t, r.dataDir)
	out = pyIMAP(t, r, "owner@acme.test", `
c = imaplib.IMAP4(HOST, PORT)
ok(c.login(USER, PASSWORD))
print("RESTORED", ok(c.getacl("INBOX"))[0].decode())
c.logout()
`)
	if want := "RESTORED INBOX owner@acme.test lrswipkxtecda friend@acme.test lrsw\n"; !strings.Contains(out, want) {
		t.Errorf("after restore: want %q in\n%s", want, out)
	}
}
