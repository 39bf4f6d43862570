package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yubin/storage"
)

// newUserWithMail creates ann@acme.test with n messages in INBOX.
func newUserWithMail(t *testing.T, n int) (string, string) {
	t.Helper()
	dir := newDataDir(t)
	ctx := context.Background()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.AddDomain(ctx, "acme.test")
	u, err := st.AddUser(ctx, "ann@acme.test", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := acct.Deliver(ctx, "INBOX", strings.NewReader("Subject: m"+string(rune('0'+i))+"\r\n\r\nbody\r\n"), storage.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return dir, acct.Dir()
}

func TestVerifyRepair(t *testing.T) {
	t.Parallel()
	dir, maildir := newUserWithMail(t, 3)
	if out, errOut, err := run(t, dir, "", "verify"); err != nil || !strings.Contains(out, "ann@acme.test: ok") {
		t.Fatalf("clean verify: %v\n%s%s", err, out, errOut)
	}
	// Delete one indexed file; drop an unindexed one into cur/.
	ents, _ := os.ReadDir(filepath.Join(maildir, "new"))
	if err := os.Remove(filepath.Join(maildir, "new", ents[0].Name())); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(maildir, "cur", "1700000000.M1P1.other:2,S"), []byte("Subject: x\n\nhi\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, dir, "", "verify", "ann@acme.test")
	if err == nil || !strings.Contains(out, "missing-file INBOX uid 1") || !strings.Contains(out, "unindexed-file INBOX cur/1700000000.M1P1.other:2,S") {
		t.Fatalf("verify found: %v\n%s", err, out)
	}
	out, errOut, err := run(t, dir, "", "verify", "--repair")
	if err != nil || !strings.Contains(out, "repaired 2 of 2 problems") {
		t.Fatalf("repair: %v\n%s%s", err, out, errOut)
	}
	if out, _, err := run(t, dir, "", "verify"); err != nil || !strings.Contains(out, "ann@acme.test: ok") {
		t.Fatalf("after repair: %v\n%s", err, out)
	}
}

func TestBackupRestoreCLI(t *testing.T) {
	t.Parallel()
	dir, _ := newUserWithMail(t, 5)
	bdir := filepath.Join(t.TempDir(), "backup")
	out, errOut, err := run(t, dir, "", "backup", bdir)
	if err != nil || !strings.Contains(out, "1 accounts") {
		t.Fatalf("backup: %v\n%s%s", err, out, errOut)
	}
	if out, _, err := run(t, dir, "", "restore", "--check", bdir); err != nil || !strings.Contains(out, "all checksums match") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	// Incremental: one more message, then a second backup reuses the five.
	_, maildir := dir, ""
	st, _ := storage.Open(dir, storage.Options{})
	addr, _ := storage.ParseAddress("ann@acme.test")
	acct, _ := st.Account(context.Background(), addr)
	acct.Deliver(context.Background(), "Sent", strings.NewReader("Subject: s\r\n\r\nx\r\n"), storage.DeliverOptions{Flags: []string{`\Seen`}})
	maildir = acct.Dir()
	st.Close()
	out, errOut, err = run(t, dir, "", "backup", "--copy", bdir)
	if err != nil || !strings.Contains(out, "1 copied") || !strings.Contains(out, "0 removed") {
		t.Fatalf("incremental backup: %v\n%s%s", err, out, errOut)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if out, errOut, err := run(t, target, "", "restore", bdir); err != nil || !strings.Contains(out, "1 accounts") {
		t.Fatalf("restore: %v\n%s%s", err, out, errOut)
	}
	if out, _, err := run(t, target, "", "verify"); err != nil || !strings.Contains(out, "ann@acme.test: ok") {
		t.Fatalf("verify restored: %v\n%s", err, out)
	}
	rel, _ := filepath.Rel(dir, maildir)
	for _, sub := range []string{"new", ".Sent/cur"} {
		a, _ := os.ReadDir(filepath.Join(maildir, sub))
		b, _ := os.ReadDir(filepath.Join(target, rel, sub))
		if len(a) != len(b) || len(a) == 0 {
			t.Errorf("%s: %d files live, %d restored", sub, len(a), len(b))
		}
	}
	// Restoring over a data directory that is in use is refused.
	if _, _, err := run(t, dir, "", "restore", bdir); err == nil {
		t.Error("restore into a non-empty data dir succeeded")
	}
}
