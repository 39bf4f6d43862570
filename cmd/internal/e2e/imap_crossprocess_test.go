package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIMAPSeesImportByMailctl: a session with INBOX selected learns on NOOP
// about messages `mailctl import` (another process) wrote.
func TestIMAPSeesImportByMailctl(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("ida@acme.test")
	c := dialIMAP(t, s, nil)
	if err := c.Login("ida@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 0 {
		t.Fatalf("select: %+v %v", sel, err)
	}
	mbox := filepath.Join(t.TempDir(), "old.mbox")
	os.WriteFile(mbox, []byte("From a@old.example Mon Jan  1 00:00:00 2024\nSubject: one\n\nfirst\n\nFrom b@old.example Tue Jan  2 00:00:00 2024\nSubject: two\n\nsecond\n"), 0o600)
	s.mustMailctl("", "import", "mbox", mbox, "--to", "ida@acme.test", "--folder", "INBOX")
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("after NOOP the session sees %d messages, want 2", n)
	}
}
