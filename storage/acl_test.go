package storage

import (
	"errors"
	"slices"
	"testing"
)

// newACLAccount returns u@example.com's account, a second user
// v@example.com, and a mailbox "Shared".
func newACLAccount(t *testing.T) (*Store, *Account) {
	t.Helper()
	s, a := newTestAccount(t, 0)
	mustUser(t, s, "v@example.com", 0)
	if err := a.CreateMailbox(t.Context(), "Shared"); err != nil {
		t.Fatal(err)
	}
	return s, a
}

func mustACL(t *testing.T, a *Account, box string) []ACLEntry {
	t.Helper()
	acl, err := a.ACL(t.Context(), box)
	if err != nil {
		t.Fatalf("ACL(%q): %v", box, err)
	}
	return acl
}

func TestACLOwnerImplicit(t *testing.T) {
	t.Parallel()
	_, a := newACLAccount(t)
	want := []ACLEntry{{"u@example.com", AllRights}}
	if got := mustACL(t, a, Inbox); !slices.Equal(got, want) {
		t.Errorf("ACL(INBOX) = %v, want %v", got, want)
	}
	r, err := a.MyRights(t.Context(), "inbox", a.Address())
	if err != nil || r != AllRights {
		t.Errorf("MyRights(owner) = %q, %v", r, err)
	}
	ctx := t.Context()
	for _, c := range []struct {
		rights string
		mode   ACLMode
		err    error
	}{
		{"a", ACLRemove, ErrACLOwner},
		{"lr", ACLReplace, ErrACLOwner},
		{"", ACLReplace, ErrACLOwner},
		{"l", ACLAdd, nil},
		{"aetxkpiwsrl", ACLReplace, nil},
	} {
		got, err := a.SetACL(ctx, "Shared", "U@Example.COM", c.rights, c.mode)
		if !errors.Is(err, c.err) || (err == nil && got != AllRights) {
			t.Errorf("SetACL(owner, %q, %d) = %q, %v; want %v", c.rights, c.mode, got, err, c.err)
		}
	}
	if err := a.DeleteACL(ctx, "Shared", "u@example.com"); !errors.Is(err, ErrACLOwner) {
		t.Errorf("DeleteACL(owner) = %v", err)
	}
	if got := mustACL(t, a, "Shared"); len(got) != 1 || got[0].Rights != AllRights {
		t.Errorf("ACL after owner changes = %v", got)
	}
}

func TestACLSetModes(t *testing.T) {
	t.Parallel()
	_, a := newACLAccount(t)
	ctx := t.Context()
	v, _ := ParseAddress("v@example.com")
	steps := []struct {
		id, rights string
		mode       ACLMode
		want       string
	}{
		{"v@example.com", "rl", ACLReplace, "lr"},
		{"V@EXAMPLE.com", "sw", ACLAdd, "lrsw"},
		{"v@example.com", "r", ACLRemove, "lsw"},
		{"anyone", "ll", ACLAdd, "l"},
		{"ANYONE", "i", ACLAdd, "li"},
	}
	for _, st := range steps {
		got, err := a.SetACL(ctx, "Shared", st.id, st.rights, st.mode)
		if err != nil || got != st.want {
			t.Fatalf("SetACL(%q, %q, %d) = %q, %v; want %q", st.id, st.rights, st.mode, got, err, st.want)
		}
	}
	want := []ACLEntry{{"u@example.com", AllRights}, {"anyone", "li"}, {"v@example.com", "lsw"}}
	if got := mustACL(t, a, "Shared"); !slices.Equal(got, want) {
		t.Errorf("ACL = %v, want %v", got, want)
	}
	// The union of anyone (li) and v (lsw), in AllRights order.
	if r, err := a.MyRights(ctx, "Shared", v); err != nil || r != "lswi" {
		t.Errorf("MyRights(v) = %q, %v", r, err)
	}
	other, _ := ParseAddress("w@example.com")
	if r, err := a.MyRights(ctx, "Shared", other); err != nil || r != "li" {
		t.Errorf("MyRights(w, only anyone) = %q, %v", r, err)
	}
	// Removing every right removes the entry; so does replace with none.
	if got, err := a.SetACL(ctx, "Shared", "v@example.com", "lsw", ACLRemove); err != nil || got != "" {
		t.Errorf("SetACL remove all = %q, %v", got, err)
	}
	if _, err := a.SetACL(ctx, "Shared", "anyone", "", ACLReplace); err != nil {
		t.Error(err)
	}
	if got := mustACL(t, a, "Shared"); len(got) != 1 {
		t.Errorf("ACL after emptying = %v", got)
	}
	// The other mailboxes were never touched.
	if got := mustACL(t, a, Inbox); len(got) != 1 {
		t.Errorf("ACL(INBOX) = %v", got)
	}
}

func TestACLErrors(t *testing.T) {
	t.Parallel()
	_, a := newACLAccount(t)
	ctx := t.Context()
	for _, c := range []struct {
		box, id, rights string
		err             error
	}{
		{"Shared", "nobody@example.com", "l", ErrACLIdentifier},
		{"Shared", "nobody", "l", ErrACLIdentifier},
		{"Shared", "-anyone", "l", ErrACLNegative},
		{"Shared", "-v@example.com", "l", ErrACLNegative},
		{"Shared", "authenticated", "l", ErrACLIdentifier},
		{"Shared", "v@example.com", "lc", ErrACLRights},
		{"Shared", "v@example.com", "L", ErrACLRights},
		{"Missing", "v@example.com", "l", ErrNotFound},
	} {
		if _, err := a.SetACL(ctx, c.box, c.id, c.rights, ACLReplace); !errors.Is(err, c.err) {
			t.Errorf("SetACL(%q, %q, %q) = %v; want %v", c.box, c.id, c.rights, err, c.err)
		}
	}
	if _, err := a.ACL(ctx, "Missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ACL(Missing) = %v", err)
	}
	if _, err := a.MyRights(ctx, "Missing", a.Address()); !errors.Is(err, ErrNotFound) {
		t.Errorf("MyRights(Missing) = %v", err)
	}
	if err := a.DeleteACL(ctx, "Shared", "-anyone"); !errors.Is(err, ErrACLNegative) || !errors.Is(err, ErrACLIdentifier) {
		t.Errorf("DeleteACL(-anyone) = %v", err)
	}
	// An entry that is not there, or of a user who no longer exists.
	if err := a.DeleteACL(ctx, "Shared", "gone@example.com"); err != nil {
		t.Errorf("DeleteACL(gone) = %v", err)
	}
}

// TestACLFollowsMailbox: RENAME carries the list (subfolders too), DELETE
// drops it, and a mailbox created again under the name starts without.
func TestACLFollowsMailbox(t *testing.T) {
	t.Parallel()
	_, a := newACLAccount(t)
	ctx := t.Context()
	if err := a.CreateMailbox(ctx, "Shared/Sub"); err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{"Shared", "Shared/Sub"} {
		if _, err := a.SetACL(ctx, box, "v@example.com", "lr", ACLReplace); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RenameMailbox(ctx, "Shared", "Team"); err != nil {
		t.Fatal(err)
	}
	want := []ACLEntry{{"u@example.com", AllRights}, {"v@example.com", "lr"}}
	for _, box := range []string{"Team", "Team/Sub"} {
		if got := mustACL(t, a, box); !slices.Equal(got, want) {
			t.Errorf("ACL(%q) after rename = %v, want %v", box, got, want)
		}
	}
	if err := a.CreateMailbox(ctx, "Shared"); err != nil {
		t.Fatal(err)
	}
	if got := mustACL(t, a, "Shared"); len(got) != 1 {
		t.Errorf("ACL(new Shared) = %v", got)
	}
	if err := a.DeleteMailbox(ctx, "Team"); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateMailbox(ctx, "Team"); err != nil {
		t.Fatal(err)
	}
	if got := mustACL(t, a, "Team"); len(got) != 1 {
		t.Errorf("ACL(Team re-created) = %v", got)
	}
	var n int
	if err := a.idx.QueryRow(`SELECT COUNT(*) FROM acl WHERE mailbox = 'Team'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("acl rows of Team = %d, %v", n, err)
	}
}

// TestACLMigrationVersion4: an index of version 4 (no acl table) gains
// it at the next open; opening again changes nothing, and the lists
// survive a reopen.
func TestACLMigrationVersion4(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	mustUser(t, s, "v@example.com", 0)
	if _, err := a.idx.Exec(`DROP TABLE acl; PRAGMA user_version = 4`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i := range 2 {
		s, a := openAccountIn(t, dir, false)
		var v int
		if err := a.idx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != 5 {
			t.Errorf("version after migration = %d, %v; want 5", v, err)
		}
		if i == 0 {
			if _, err := a.SetACL(t.Context(), Inbox, "v@example.com", "lr", ACLReplace); err != nil {
				t.Fatal(err)
			}
		} else if got := mustACL(t, a, Inbox); len(got) != 2 || got[1] != (ACLEntry{"v@example.com", "lr"}) {
			t.Errorf("ACL after reopen = %v", got)
		}
		s.Close()
	}
}

// TestACLKeptByReconcile: the backup's reconcile pass (a rescan of a
// copied index) keeps the lists of mailboxes that exist.
func TestACLKeptByReconcile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	mustUser(t, s, "v@example.com", 0)
	if err := a.CreateMailbox(t.Context(), "Shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetACL(t.Context(), "Shared", "anyone", "lr", ACLReplace); err != nil {
		t.Fatal(err)
	}
	root := a.Dir()
	s.Close()
	if err := ReconcileMaildir(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	s, a = openAccountIn(t, dir, false)
	defer s.Close()
	if got := mustACL(t, a, "Shared"); len(got) != 2 || got[1] != (ACLEntry{"anyone", "lr"}) {
		t.Errorf("ACL after reconcile = %v", got)
	}
}

// FuzzSetACL: any identifier, rights and mode are either refused with an
// error or stored as canonical rights that ACL and MyRights report back;
// the owner keeps every right.
func FuzzSetACL(f *testing.F) {
	for _, s := range []struct {
		id, rights string
		mode       uint8
	}{
		{"anyone", "lr", 0}, {"v@example.com", "+lrsw", 1}, {"-anyone", "l", 0},
		{"u@example.com", "a", 2}, {"ANYONE", "lrswipkxtea", 1}, {"v@EXAMPLE.com", "xx", 2},
		{"\"q u\"@example.com", "l", 0}, {"", "", 0}, {"v@example.com", "L\x00\xff", 0},
	} {
		f.Add(s.id, s.rights, s.mode)
	}
	s, err := Open(f.TempDir(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ctx := f.Context()
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		f.Fatal(err)
	}
	var a *Account
	for _, u := range []string{"v@example.com", "u@example.com"} {
		user, err := s.AddUser(ctx, u, "pw", 0)
		if err != nil {
			f.Fatal(err)
		}
		if a, err = s.Account(ctx, user.Address); err != nil {
			f.Fatal(err)
		}
	}
	if err := a.CreateMailbox(ctx, "Shared"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, rights string, mode uint8) {
		got, err := a.SetACL(t.Context(), "Shared", id, rights, ACLMode(mode%4))
		if err != nil {
			return
		}
		if c, cerr := canonRights(got); cerr != nil || c != got {
			t.Fatalf("SetACL(%q, %q) = %q, not canonical", id, rights, got)
		}
		acl, err := a.ACL(t.Context(), "Shared")
		if err != nil || len(acl) == 0 || acl[0] != (ACLEntry{"u@example.com", AllRights}) {
			t.Fatalf("ACL = %v, %v", acl, err)
		}
		norm, owner, err := a.ACLIdentifier(t.Context(), id)
		if err != nil {
			t.Fatalf("SetACL accepted %q, ACLIdentifier refuses it: %v", id, err)
		}
		if owner {
			return
		}
		i := slices.IndexFunc(acl, func(e ACLEntry) bool { return e.Identifier == norm })
		if (got == "") != (i < 0) || (i >= 0 && acl[i].Rights != got) {
			t.Fatalf("SetACL(%q) = %q, ACL = %v", id, got, acl)
		}
	})
}
