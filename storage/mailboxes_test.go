package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

func newMailboxAccount(t *testing.T) (*Store, *Account) {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	s.AddDomain(ctx, "acme.test")
	u, err := s.AddUser(ctx, "alice@acme.test", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Account(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

func TestRenameDeleteMailbox(t *testing.T) {
	t.Parallel()
	_, a := newMailboxAccount(t)
	ctx := context.Background()
	for _, n := range []string{"Work", "Work/2025", "Workshop"} {
		if err := a.CreateMailbox(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	m, err := a.Deliver(ctx, "Work/2025", strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{Flags: []string{FlagSeen}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := a.Status(ctx, "Work/2025")
	if err := a.RenameMailbox(ctx, "Work", "Projects"); err != nil {
		t.Fatal(err)
	}
	boxes, _ := a.Mailboxes(ctx)
	var names []string
	for _, b := range boxes {
		names = append(names, b.Name)
	}
	for _, want := range []string{"Projects", "Projects/2025", "Workshop"} {
		if !slices.Contains(names, want) {
			t.Errorf("after rename, mailboxes = %v lack %q", names, want)
		}
	}
	if slices.Contains(names, "Work") || slices.Contains(names, "Work/2025") {
		t.Errorf("old names remain: %v", names)
	}
	after, err := a.Status(ctx, "Projects/2025")
	if err != nil || after.UIDValidity != before.UIDValidity || after.Messages != 1 {
		t.Errorf("status after rename = %+v, %v; before %+v", after, err, before)
	}
	if got, err := a.Message(ctx, "Projects/2025", m.UID); err != nil || !slices.Contains(got.Flags, FlagSeen) {
		t.Errorf("message after rename: %+v %v", got, err)
	}
	if err := a.RenameMailbox(ctx, "Projects", "Workshop"); !errors.Is(err, ErrExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := a.DeleteMailbox(ctx, "Projects/2025"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Status(ctx, "Projects/2025"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted mailbox still there: %v", err)
	}
	if err := a.DeleteMailbox(ctx, "INBOX"); err == nil {
		t.Error("INBOX deleted")
	}
}

func TestRenameInboxMovesMessages(t *testing.T) {
	t.Parallel()
	_, a := newMailboxAccount(t)
	ctx := context.Background()
	for range 3 {
		a.Deliver(ctx, Inbox, strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{})
	}
	if err := a.RenameMailbox(ctx, "INBOX", "Old Inbox"); err != nil {
		t.Fatal(err)
	}
	in, _ := a.Status(ctx, Inbox)
	old, _ := a.Status(ctx, "Old Inbox")
	if in.Messages != 0 || old.Messages != 3 {
		t.Errorf("INBOX %d, Old Inbox %d messages; want 0 and 3", in.Messages, old.Messages)
	}
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	_, a := newMailboxAccount(t)
	ctx := context.Background()
	subs, err := a.Subscriptions(ctx)
	if err != nil || !slices.Contains(subs, "Sent") || !slices.Contains(subs, Inbox) {
		t.Fatalf("implicit subscriptions = %v, %v", subs, err)
	}
	if err := a.SetSubscribed(ctx, "Junk", false); err != nil {
		t.Fatal(err)
	}
	if err := a.SetSubscribed(ctx, "Later/Folder", true); err != nil {
		t.Fatal(err)
	}
	subs, _ = a.Subscriptions(ctx)
	if slices.Contains(subs, "Junk") || !slices.Contains(subs, "Later/Folder") || !slices.Contains(subs, "Sent") {
		t.Errorf("subscriptions = %v", subs)
	}
}

func TestCopyKeepsFlagsAndDate(t *testing.T) {
	t.Parallel()
	_, a := newMailboxAccount(t)
	ctx := context.Background()
	m, _ := a.Deliver(ctx, Inbox, strings.NewReader("Subject: c\r\n\r\nc\r\n"), DeliverOptions{Flags: []string{FlagFlagged, "$Work"}})
	uids, err := a.Copy(ctx, Inbox, []uint32{m.UID, 999}, "Archive")
	if err != nil || uids[0] == 0 || uids[1] != 0 {
		t.Fatalf("Copy = %v, %v", uids, err)
	}
	f, c, err := a.Open(ctx, "Archive", uids[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "Subject: c\r\n\r\nc\r\n" || !slices.Equal(c.Flags, m.Flags) || !c.InternalDate.Equal(m.InternalDate.Truncate(0)) && c.InternalDate.Unix() != m.InternalDate.Unix() {
		t.Errorf("copy = %q %+v, original %+v", b, c, m)
	}
}

// TestObserverSeesChangesInOrder checks the change feed IMAP builds on:
// every write path publishes, UIDs of additions increase, and changes
// made by another program are found by Refresh.
func TestObserverSeesChangesInOrder(t *testing.T) {
	t.Parallel()
	s, a := newMailboxAccount(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []Change
	s.SetObserver(func(_ context.Context, c Change) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	})
	m1, _ := a.Deliver(ctx, Inbox, strings.NewReader("a\r\n"), DeliverOptions{})
	m2, _ := a.Deliver(ctx, Inbox, strings.NewReader("b\r\n"), DeliverOptions{})
	a.SetFlags(ctx, Inbox, m1.UID, []string{FlagSeen})
	a.SetFlags(ctx, Inbox, m1.UID, []string{FlagSeen}) // no change, no event
	a.Expunge(ctx, Inbox, []uint32{m2.UID})
	if changed, err := a.Refresh(ctx, Inbox); err != nil || changed {
		t.Errorf("Refresh after own changes = %v, %v; want no rescan", changed, err)
	}
	// Another program drops a file into new/.
	if err := writeFileSync(a.Dir()+"/new/1700000000.outside.host,S=3", []byte("c\r\n")); err != nil {
		t.Fatal(err)
	}
	if changed, err := a.Refresh(ctx, Inbox); err != nil || !changed {
		t.Errorf("Refresh after outside change = %v, %v; want a rescan", changed, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Change{
		{Kind: MessageAdded, UID: m1.UID}, {Kind: MessageAdded, UID: m2.UID},
		{Kind: MessageFlags, UID: m1.UID}, {Kind: MessageExpunged, UID: m2.UID},
		{Kind: MessageAdded, UID: m2.UID + 1},
	}
	if len(got) != len(want) {
		t.Fatalf("changes = %+v", got)
	}
	for i, w := range want {
		if got[i].Kind != w.Kind || got[i].UID != w.UID || got[i].Mailbox != Inbox || got[i].User.String() != "alice@acme.test" {
			t.Errorf("change %d = %+v, want %+v", i, got[i], w)
		}
	}
}

func writeFileSync(path string, b []byte) error {
	return os.WriteFile(path, b, 0o600)
}
