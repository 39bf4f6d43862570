package storage

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOwnership checks that a root process (mailctl) leaves every file it
// creates owned by the data directory's owner. It needs root.
func TestOwnership(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ctx := t.Context()
	const uid, gid = 65534, 65534
	dir := t.TempDir()
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
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
	if _, err := a.Deliver(ctx, "INBOX", strings.NewReader("x"), DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateMailbox(ctx, "New"); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
