package storage

import (
	"context"
	"errors"
	"testing"
)

// TestSpecialUseRecorded: a recorded use shows in Mailboxes, follows
// RENAME (children too), goes with DELETE, survives reopening the store
// (it is a file of the Maildir), and only real mailboxes' uses are taken.
func TestSpecialUseRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, acct := openAccountIn(t, dir, true)
	useOf := func(a *Account, name string) string {
		t.Helper()
		boxes, err := a.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			if b.Name == name {
				return b.SpecialUse
			}
		}
		return "(missing)"
	}
	for _, n := range []string{"Notes", "Notes/Old"} {
		if err := acct.CreateMailbox(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := acct.SetSpecialUse(ctx, "Notes/Old", `\archive`); err != nil {
		t.Fatal(err)
	}
	if err := acct.SetSpecialUse(ctx, "Notes", `\All`); !errors.Is(err, ErrSpecialUse) {
		t.Errorf("\\All: %v, want ErrSpecialUse", err)
	}
	if err := acct.SetSpecialUse(ctx, "Nowhere", `\Sent`); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing mailbox: %v, want ErrNotFound", err)
	}
	if u := useOf(acct, "Notes/Old"); u != `\Archive` {
		t.Errorf("use = %q", u)
	}
	if u := useOf(acct, "Sent"); u != `\Sent` {
		t.Errorf("default folder's use = %q", u)
	}
	if err := acct.RenameMailbox(ctx, "Notes", "Kept"); err != nil {
		t.Fatal(err)
	}
	if u := useOf(acct, "Kept/Old"); u != `\Archive` {
		t.Errorf("after RENAME of the parent: %q", u)
	}
	st.Close()
	st2, acct2 := openAccountIn(t, dir, false)
	defer st2.Close()
	if u := useOf(acct2, "Kept/Old"); u != `\Archive` {
		t.Errorf("after reopening: %q", u)
	}
	if err := acct2.DeleteMailbox(ctx, "Kept/Old"); err != nil {
		t.Fatal(err)
	}
	if err := acct2.CreateMailbox(ctx, "Kept/Old"); err != nil {
		t.Fatal(err)
	}
	if u := useOf(acct2, "Kept/Old"); u != "" {
		t.Errorf("created again after DELETE: use %q", u)
	}
}
