package storage

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// indexTruth reads the mailbox's messages straight from the index, as
// MessageRange did before snapshots.
func indexTruth(t *testing.T, a *Account, box string) []Message {
	t.Helper()
	canon, dir, err := a.mailboxDir(box)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := a.loadMessages(t.Context(), canon, dir)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// checkSnapshot compares every read path with the index.
func checkSnapshot(t *testing.T, a *Account, box, when string) {
	t.Helper()
	ctx := t.Context()
	got, err := a.Messages(ctx, box)
	if err != nil {
		t.Fatalf("%s: Messages: %v", when, err)
	}
	want := indexTruth(t, a, box)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Messages = %+v\nindex has %+v", when, got, want)
	}
	if len(want) == 0 {
		return
	}
	mid := want[len(want)/2].UID
	r, err := a.MessageRange(ctx, box, mid, math.MaxUint32)
	if err != nil || !reflect.DeepEqual(r, want[len(want)/2:]) {
		t.Fatalf("%s: MessageRange(%d:*) = %+v, %v; want %+v", when, mid, r, err, want[len(want)/2:])
	}
	uids := []uint32{want[len(want)-1].UID, 1_000_000, want[0].UID, want[0].UID}
	byUID, err := a.MessagesByUIDs(ctx, box, uids)
	wantBy := []Message{want[0]}
	if len(want) > 1 {
		wantBy = append(wantBy, want[len(want)-1])
	}
	if err != nil || !reflect.DeepEqual(byUID, wantBy) {
		t.Fatalf("%s: MessagesByUIDs(%v) = %+v, %v; want %+v", when, uids, byUID, err, wantBy)
	}
}

func snapLoads(a *Account) int64 { return a.store.snaps.loads.Load() }

// TestSnapshotOwnChanges: after this process's flag changes, deliveries
// and expunges the snapshot answers as the index does, catching up from
// the change log without reloading; callers may modify what they get.
func TestSnapshotOwnChanges(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	var ms []Message
	for range 5 {
		ms = append(ms, mustDeliver(t, a, Inbox))
	}
	checkSnapshot(t, a, Inbox, "initial")
	loads := snapLoads(a)
	if err := a.SetFlags(ctx, Inbox, ms[1].UID, []string{`\Seen`, "$Work"}); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, a, Inbox, "after flags")
	mustDeliver(t, a, Inbox, `\Flagged`)
	checkSnapshot(t, a, Inbox, "after new")
	if err := a.Expunge(ctx, Inbox, []uint32{ms[0].UID, ms[3].UID}); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, a, Inbox, "after expunge")
	if got := snapLoads(a); got != loads {
		t.Errorf("snapshot reloaded %d times; want changes applied from the log", got-loads)
	}
	// The caller owns its slice.
	got, err := a.Messages(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	got[0].UID, got[0].Path = 999, "x"
	checkSnapshot(t, a, Inbox, "after the caller changed its copy")
}

// TestSnapshotOtherProcess: changes by a second Store on the same
// directory (another process) move HIGHESTMODSEQ and are seen.
func TestSnapshotOtherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	m1 := mustDeliver(t, a1, Inbox)
	m2 := mustDeliver(t, a1, Inbox)
	checkSnapshot(t, a1, Inbox, "initial")
	loads := snapLoads(a1)
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	if err := a2.SetFlags(t.Context(), Inbox, m1.UID, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, a1, Inbox, "after the other's flags")
	mustDeliver(t, a2, Inbox)
	checkSnapshot(t, a1, Inbox, "after the other's new")
	if err := a2.Expunge(t.Context(), Inbox, []uint32{m2.UID}); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, a1, Inbox, "after the other's expunge")
	if got := snapLoads(a1); got != loads {
		t.Errorf("snapshot reloaded %d times; want changes applied from the log", got-loads)
	}
	got, err := a1.Messages(t.Context(), Inbox)
	if err != nil || len(got) != 2 || got[0].UID != m1.UID || !slices.Equal(got[0].Flags, []string{`\Answered`}) {
		t.Errorf("Messages = %+v, %v", got, err)
	}
}

// TestSnapshotUIDValidity: a mailbox deleted and created again (a new
// UIDVALIDITY), by this process or another, is read afresh.
func TestSnapshotUIDValidity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	ctx := t.Context()
	for i, who := range []*Account{a1, a2} {
		if err := a1.CreateMailbox(ctx, "Box"); err != nil {
			t.Fatal(err)
		}
		mustDeliver(t, a1, "Box")
		mustDeliver(t, a1, "Box", `\Seen`)
		checkSnapshot(t, a1, "Box", fmt.Sprint("before delete ", i))
		if err := who.DeleteMailbox(ctx, "Box"); err != nil {
			t.Fatal(err)
		}
		if _, err := a1.Messages(ctx, "Box"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Messages of a deleted mailbox: %v; want ErrNotFound", err)
		}
		if err := who.CreateMailbox(ctx, "Box"); err != nil {
			t.Fatal(err)
		}
		mustDeliver(t, who, "Box", "$New")
		checkSnapshot(t, a1, "Box", fmt.Sprint("after delete and create ", i))
		if got, err := a1.Messages(ctx, "Box"); err != nil || len(got) != 1 || !slices.Equal(got[0].Flags, []string{"$New"}) {
			t.Errorf("after delete and create %d: Messages = %+v, %v", i, got, err)
		}
		if err := a1.DeleteMailbox(ctx, "Box"); err != nil {
			t.Fatal(err)
		}
	}
	// Rename: the old name is gone, the new one holds the messages.
	if err := a1.CreateMailbox(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, a1, "A")
	checkSnapshot(t, a1, "A", "before rename")
	if err := a1.RenameMailbox(ctx, "A", "B"); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Messages(ctx, "A"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Messages of a renamed mailbox: %v; want ErrNotFound", err)
	}
	checkSnapshot(t, a1, "B", "after rename")
}

// TestSnapshotLogExpired: when the log no longer reaches back to the
// snapshot's MODSEQ (ErrChangesExpired) the snapshot reloads.
func TestSnapshotLogExpired(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	a2.changeLogLimit = 5
	m := mustDeliver(t, a1, Inbox)
	mustDeliver(t, a1, Inbox)
	checkSnapshot(t, a1, Inbox, "initial")
	loads := snapLoads(a1)
	for i := range 20 {
		flags := []string{`\Seen`}
		if i%2 == 1 {
			flags = []string{"$K"}
		}
		if err := a2.SetFlags(t.Context(), Inbox, m.UID, flags); err != nil {
			t.Fatal(err)
		}
	}
	if err := a2.Expunge(t.Context(), Inbox, []uint32{m.UID + 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Changes(t.Context(), Inbox, 3); !errors.Is(err, ErrChangesExpired) {
		t.Fatalf("Changes(3) = %v; want the log trimmed (ErrChangesExpired)", err)
	}
	checkSnapshot(t, a1, Inbox, "after the log was trimmed")
	if got := snapLoads(a1); got != loads+1 {
		t.Errorf("snapshot reloaded %d times; want 1", got-loads)
	}
}

// TestSnapshotConcurrent: readers and writers of one mailbox at once
// (run with -race); every read is sorted and ends equal to the index.
func TestSnapshotConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	ctx := t.Context()
	var base []Message
	for range 20 {
		base = append(base, mustDeliver(t, a1, Inbox))
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w, a := range []*Account{a1, a2, a1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				var err error
				switch i % 3 {
				case 0:
					err = a.SetFlags(ctx, Inbox, base[(w*7+i)%len(base)].UID, []string{`\Seen`, fmt.Sprint("$w", w, "i", i)})
				case 1:
					_, err = a.Deliver(ctx, Inbox, strings.NewReader("Subject: c\r\n\r\nc\r\n"), DeliverOptions{})
				case 2:
					err = a.Expunge(ctx, Inbox, []uint32{base[(w*5+i)%len(base)].UID})
				}
				if err != nil && !errors.Is(err, ErrNotFound) { // another writer expunged it
					errc <- err
					return
				}
			}
		}()
	}
	for _, a := range []*Account{a1, a1, a2, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				msgs, err := a.MessageRange(ctx, Inbox, 1, math.MaxUint32)
				if err != nil {
					errc <- err
					return
				}
				if !slices.IsSortedFunc(msgs, func(x, y Message) int { return int(x.UID) - int(y.UID) }) ||
					len(slices.CompactFunc(slices.Clone(msgs), func(x, y Message) bool { return x.UID == y.UID })) != len(msgs) {
					errc <- fmt.Errorf("read not sorted or with duplicates: %+v", msgs)
					return
				}
				if len(msgs) > 0 {
					msgs[0].Flags = nil // the caller's copy
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	checkSnapshot(t, a1, Inbox, "first store after the writers")
	checkSnapshot(t, a2, Inbox, "second store after the writers")
}

// TestSnapshotBudget: beyond Options.SnapshotMessages the least recently
// read snapshot goes; reads stay correct.
func TestSnapshotBudget(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), Options{SnapshotMessages: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustDomain(t, s, "example.com")
	u := mustUser(t, s, "u@example.com", 0)
	a, err := s.Account(t.Context(), u.Address)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateMailbox(t.Context(), "B"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		mustDeliver(t, a, Inbox)
		mustDeliver(t, a, "B")
	}
	checkSnapshot(t, a, Inbox, "INBOX")
	checkSnapshot(t, a, "B", "B")
	s.snaps.mu.Lock()
	_, inbox := s.snaps.m[snapKey{a, Inbox}]
	_, b := s.snaps.m[snapKey{a, "B"}]
	total := s.snaps.total
	s.snaps.mu.Unlock()
	if inbox || !b || total != 2 {
		t.Errorf("after reading INBOX then B with a budget of 3: INBOX kept %v, B kept %v, total %d; want only B, 2", inbox, b, total)
	}
	checkSnapshot(t, a, Inbox, "INBOX again")
}

// TestSnapshotDisabled: a negative budget reads the index every time.
func TestSnapshotDisabled(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), Options{SnapshotMessages: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustDomain(t, s, "example.com")
	u := mustUser(t, s, "u@example.com", 0)
	a, err := s.Account(t.Context(), u.Address)
	if err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, a, Inbox)
	checkSnapshot(t, a, Inbox, "disabled")
	mustDeliver(t, a, Inbox)
	checkSnapshot(t, a, Inbox, "disabled, after new")
}

func TestApplyChangesLate(t *testing.T) {
	t.Parallel()
	msgs := []Message{{UID: 1}, {UID: 3}, {UID: 5}}
	cs := []Change{
		{Kind: MessageAdded, UID: 4, Message: Message{UID: 4, Size: 1}},
		{Kind: MessageFlags, UID: 4, Message: Message{UID: 4, Size: 2}},
		{Kind: MessageExpunged, UID: 3},
		{Kind: MessageAdded, UID: 2, Message: Message{UID: 2}},
		{Kind: MessageAdded, UID: 6, Message: Message{UID: 6}},
		{Kind: MessageExpunged, UID: 42},
	}
	got, ok := applyChanges(msgs, cs)
	want := []Message{{UID: 1}, {UID: 2}, {UID: 4, Size: 2}, {UID: 5}, {UID: 6}}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("applyChanges = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := applyChanges(nil, []Change{{Kind: MessageFlags, UID: 7}}); ok {
		t.Error("a change without its message was applied")
	}
}

func TestMessagePath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ rel, want string }{
		{"cur/1.M2.h,S=3:2,S", "/m/.A/cur/1.M2.h,S=3:2,S"},
		{"new/1.M2.h", "/m/.A/new/1.M2.h"},
		{"cur/../x", "/m/.A/x"},
		{"new/..", "/m/.A"},
		{"cur/", "/m/.A/cur"},
		{"tmp/x", "/m/.A/tmp/x"},
		{"cur//x", "/m/.A/cur/x"},
	} {
		if got := messagePath("/m/.A", c.rel); got != c.want {
			t.Errorf("messagePath(%q) = %q, want %q", c.rel, got, c.want)
		}
	}
}

// TestUnclaimed: Unclaimed is Status.Recent without the rest of Status.
func TestUnclaimed(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	check := func(want int) {
		t.Helper()
		n, err := a.Unclaimed(ctx, Inbox)
		st, serr := a.Status(ctx, Inbox)
		if err != nil || serr != nil || n != want || st.Recent != want {
			t.Errorf("Unclaimed = %d, %v; Status.Recent = %d, %v; want %d", n, err, st.Recent, serr, want)
		}
	}
	check(0)
	mustDeliver(t, a, Inbox)
	m := mustDeliver(t, a, Inbox)
	check(2)
	if _, _, err := a.ClaimRecent(ctx, Inbox, m.UID-1); err != nil {
		t.Fatal(err)
	}
	check(1)
	mustDeliver(t, a, Inbox)
	check(2)
	if _, err := a.Unclaimed(ctx, "NoSuchBox"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unclaimed of a missing mailbox: %v; want ErrNotFound", err)
	}
}
