package storage

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Nothing under the data directory is open to the group or others, even
// under a permissive umask and when an older version left the directory
// and yubin.db readable: they hold password hashes, DKIM keys and mail.
func TestDataPrivateToOwner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "yubin.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "yubin.db"), 0o644)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustDomain(t, s, "example.com")
	u := mustUser(t, s, "u@example.com", 0)
	a, err := s.Account(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateMailbox(ctx, "New"); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want nothing for group and others", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("walked only %d paths", n)
	}
}
