package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestPoll: a session's poll returns nothing but the mailbox's identity
// when nothing changed, and otherwise every change with what FETCH and
// EXISTS need; a MODSEQ from the future (the index went back) is
// ErrChangesExpired.
func TestPoll(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	m1 := mustDeliver(t, a, Inbox) // 2
	st, err := a.Status(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Poll(ctx, Inbox, 2)
	if err != nil || len(p.Changes) != 0 || p.HighestModSeq != 2 || p.UIDValidity != st.UIDValidity || p.UIDNext != 2 {
		t.Fatalf("idle Poll = %+v, %v; want no changes at 2, UIDVALIDITY %d, UIDNEXT 2", p, err, st.UIDValidity)
	}
	m2 := mustDeliver(t, a, Inbox, `\Seen`, "$Work")                             // 3
	if err := a.SetFlags(ctx, Inbox, m1.UID, []string{`\Flagged`}); err != nil { // 4
		t.Fatal(err)
	}
	p, err = a.Poll(ctx, Inbox, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.HighestModSeq != 4 || p.UIDNext != 3 || len(p.Changes) != 2 {
		t.Fatalf("Poll(2) = %+v; want 2 changes up to 4, UIDNEXT 3", p)
	}
	add, fl := p.Changes[0], p.Changes[1]
	if add.Kind != MessageAdded || add.UID != m2.UID || add.Message.Size != m2.Size || !add.Message.InternalDate.Equal(m2.InternalDate) ||
		add.Message.Path != m2.Path || add.Message.ModSeq != 3 || !slices.Equal(add.Flags, []string{"$Work", `\Seen`}) {
		t.Errorf("added = %+v; want the delivered message %+v", add, m2)
	}
	if fl.Kind != MessageFlags || fl.UID != m1.UID || fl.ModSeq != 4 || fl.Message.ModSeq != 4 || !slices.Equal(fl.Flags, []string{`\Flagged`}) {
		t.Errorf("flags = %+v", fl)
	}
	if _, err := a.Poll(ctx, Inbox, 9); !errors.Is(err, ErrChangesExpired) {
		t.Errorf("Poll above HIGHESTMODSEQ: %v, want ErrChangesExpired", err)
	}
	if _, err := a.Poll(ctx, "Nowhere", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Poll of a missing mailbox: %v, want ErrNotFound", err)
	}
}

// TestChangedSince: CHANGEDSINCE reads the changed messages only, with
// their state now, and agrees with the messages' own MODSEQs also when
// the log no longer reaches back.
func TestChangedSince(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	a.changeLogLimit = 10
	ctx := t.Context()
	var uids []uint32
	for range 20 {
		uids = append(uids, mustDeliver(t, a, Inbox).UID) // 2..21
	}
	since := mustHighest(t, a, Inbox)
	for _, i := range []int{3, 7, 7, 12} { // 22..25: UID 8 twice
		if err := a.SetFlags(ctx, Inbox, uids[i], []string{fmt.Sprintf("$K%d", since)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetFlags(ctx, Inbox, uids[7], []string{"$Again"}); err != nil { // 26
		t.Fatal(err)
	}
	if err := a.Expunge(ctx, Inbox, []uint32{uids[12]}); err != nil { // 27
		t.Fatal(err)
	}
	scan := func(since uint64) []string {
		msgs, err := a.Messages(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			if m.ModSeq > since {
				out = append(out, fmt.Sprintf("%d@%d%v", m.UID, m.ModSeq, m.Flags))
			}
		}
		return out
	}
	for _, s := range []uint64{0, 1, since, since + 2, 26, 27, 30} {
		ms, err := a.ChangedSince(ctx, Inbox, s)
		if err != nil {
			t.Fatalf("ChangedSince(%d): %v", s, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%d@%d%v", m.UID, m.ModSeq, m.Flags))
		}
		if want := scan(s); !slices.Equal(got, want) {
			t.Errorf("ChangedSince(%d) = %q, want %q", s, got, want)
		}
	}
	ms, err := a.ChangedSince(ctx, Inbox, since)
	if err != nil || len(ms) != 2 || ms[0].UID != uids[3] || ms[1].UID != uids[7] || !slices.Equal(ms[1].Flags, []string{"$Again"}) {
		t.Errorf("ChangedSince(%d) = %+v, %v; want UIDs %d and %d ($Again)", since, ms, err, uids[3], uids[7])
	}
}

// TestMessagesByUIDs: a sparse UID set in one query, in UID order,
// missing UIDs left out.
func TestMessagesByUIDs(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	for range 6 {
		mustDeliver(t, a, Inbox)
	}
	ms, err := a.MessagesByUIDs(ctx, Inbox, []uint32{6, 2, 99, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, m := range ms {
		got = append(got, m.UID)
	}
	if !slices.Equal(got, []uint32{2, 4, 6}) {
		t.Errorf("MessagesByUIDs = %v, want [2 4 6]", got)
	}
	if ms, err := a.MessagesByUIDs(ctx, Inbox, nil); err != nil || len(ms) != 0 {
		t.Errorf("MessagesByUIDs(nil) = %v, %v", ms, err)
	}
}

// TestClaimRecent: each new UID is recent for exactly one claimer, also
// when claimers in two processes race; STATUS RECENT counts what is
// unclaimed without claiming it (RFC 3501 §2.3.2, §6.3.10).
func TestClaimRecent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	ctx := t.Context()
	recent := func(a *Account) int {
		t.Helper()
		st, err := a.Status(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		return st.Recent
	}
	for range 3 {
		mustDeliver(t, a1, Inbox)
	}
	if r1, r2 := recent(a1), recent(a2); r1 != 3 || r2 != 3 {
		t.Fatalf("Status.Recent = %d, %d; want 3 in both processes", r1, r2)
	}
	if r := recent(a1); r != 3 {
		t.Fatalf("Status claimed: Recent %d after a second STATUS", r)
	}
	// Capped at UIDNEXT-1: UID 4 is not given out yet.
	if f, l, err := a1.ClaimRecent(ctx, Inbox, 100); err != nil || f != 1 || l != 3 {
		t.Fatalf("ClaimRecent = %d..%d, %v; want 1..3", f, l, err)
	}
	if f, l, err := a2.ClaimRecent(ctx, Inbox, 3); err != nil || f != 0 || l != 0 {
		t.Fatalf("second ClaimRecent = %d..%d, %v; want none", f, l, err)
	}
	if r := recent(a2); r != 0 {
		t.Errorf("Status.Recent after the claim = %d, want 0", r)
	}
	m4 := mustDeliver(t, a2, Inbox)
	if r := recent(a1); r != 1 {
		t.Errorf("Status.Recent after a delivery = %d, want 1", r)
	}
	if f, l, err := a1.ClaimRecent(ctx, Inbox, m4.UID); err != nil || f != 4 || l != 4 {
		t.Errorf("ClaimRecent of the new message = %d..%d, %v; want 4..4", f, l, err)
	}

	// Racing claimers in two processes while mail arrives: every UID
	// is claimed exactly once.
	const n = 40
	claimed := make([]int, n+5)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range []*Account{a1, a2, a1, a2} {
		wg.Go(func() {
			for range n {
				_, next, err := a.UIDs(ctx, Inbox)
				if err != nil {
					t.Error(err)
					return
				}
				f, l, err := a.ClaimRecent(ctx, Inbox, next-1)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for u := f; f != 0 && u <= l; u++ {
					claimed[u]++
				}
				mu.Unlock()
			}
		})
	}
	for range n {
		mustDeliver(t, a2, Inbox)
	}
	wg.Wait()
	_, next, err := a1.UIDs(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if f, l, err := a2.ClaimRecent(ctx, Inbox, next-1); err != nil {
		t.Fatal(err)
	} else {
		for u := f; f != 0 && u <= l; u++ {
			claimed[u]++
		}
	}
	for u := 5; u < int(next); u++ {
		if claimed[u] != 1 {
			t.Errorf("UID %d claimed %d times, want once", u, claimed[u])
		}
	}
}

// checkUsage compares the usage row with the messages table.
func checkUsage(t *testing.T, a *Account) Quota {
	t.Helper()
	q, err := a.Quota(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var bytes, count int64
	if err := a.idx.QueryRow(`SELECT COALESCE(SUM(size), 0), COUNT(*) FROM messages`).Scan(&bytes, &count); err != nil {
		t.Fatal(err)
	}
	if q.Bytes != bytes || q.Messages != count {
		t.Errorf("Quota = %d bytes in %d messages; the messages hold %d in %d", q.Bytes, q.Messages, bytes, count)
	}
	return q
}

// TestQuotaUsage: the usage row follows every path that adds or removes a
// message, and the limit follows the directory.
func TestQuotaUsage(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	ctx := t.Context()
	if q := checkUsage(t, a); q.Bytes != 0 || q.Messages != 0 || q.LimitBytes != 0 || q.LimitMessages != 0 {
		t.Errorf("empty account's Quota = %+v", q)
	}
	m1 := mustDeliver(t, a, Inbox)
	mustDeliver(t, a, Inbox)
	if q := checkUsage(t, a); q.Messages != 2 || q.Bytes != 2*m1.Size {
		t.Errorf("Quota = %+v, want 2 messages of %d bytes", q, m1.Size)
	}
	if err := a.CreateMailbox(ctx, "Work"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Copy(ctx, Inbox, []uint32{m1.UID}, "Work"); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, a)
	if err := a.Expunge(ctx, Inbox, []uint32{m1.UID}); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, a)
	// Another tool's file, found by a rescan.
	if err := os.WriteFile(filepath.Join(a.Dir(), "new", "1700000000.M1P1Q1.elsewhere"), []byte("Subject: y\r\n\r\nyy\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Rescan(ctx, Inbox); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, a)
	if err := a.RenameMailbox(ctx, "Work", "Play"); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, a)
	if err := a.DeleteMailbox(ctx, "Play"); err != nil {
		t.Fatal(err)
	}
	if q := checkUsage(t, a); q.Messages != 2 {
		t.Errorf("Quota after DeleteMailbox = %+v, want 2 messages", q)
	}
	if err := s.SetQuota(ctx, "u@example.com", 5000); err != nil {
		t.Fatal(err)
	}
	if q := checkUsage(t, a); q.LimitBytes != 5000 {
		t.Errorf("Quota limit = %d, want 5000 at once", q.LimitBytes)
	}
	if used, err := a.Usage(ctx); err != nil || used != checkUsage(t, a).Bytes {
		t.Errorf("Usage = %d, %v", used, err)
	}
}

// TestIndexMigrationVersion3: an index of version 3 gains the \Recent
// mark at UIDNEXT-1 (mail there before is not recent again) and the
// usage totals; opening it again changes nothing.
func TestIndexMigrationVersion3(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	for range 3 {
		mustDeliver(t, a, Inbox)
	}
	for _, q := range []string{
		`DROP TRIGGER usage_insert`, `DROP TRIGGER usage_delete`, `DROP TRIGGER usage_size`, `DROP TABLE usage`,
		`ALTER TABLE mailboxes DROP COLUMN recentuid`, `PRAGMA user_version = 3`,
	} {
		if _, err := a.idx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	for i := range 2 {
		s, a := openAccountIn(t, dir, false)
		var v int
		if err := a.idx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != indexVersion {
			t.Errorf("version after migration = %d, %v; want %d", v, err, indexVersion)
		}
		st, err := a.Status(t.Context(), Inbox)
		if err != nil || st.Recent != 0 || st.Messages != 3+i {
			t.Errorf("Status after migration = %+v, %v; want %d messages, none recent", st, err, 3+i)
		}
		if q := checkUsage(t, a); q.Messages != int64(3+i) {
			t.Errorf("Quota after migration = %+v", q)
		}
		mustDeliver(t, a, Inbox)
		checkUsage(t, a)
		if f, l, err := a.ClaimRecent(t.Context(), Inbox, 100); err != nil || f == 0 || f != l {
			t.Errorf("ClaimRecent after migration = %d..%d, %v; want the one new message", f, l, err)
		}
		s.Close()
	}
}

// TestDeleteKeepsSubscription: RFC 3501 §6.3.6, a subscription stays
// when its mailbox is deleted (LSUB and LIST-EXTENDED \NonExistent show
// it); RENAME moves it.
func TestDeleteKeepsSubscription(t *testing.T) {
	t.Parallel()
	_, a := newMailboxAccount(t)
	ctx := t.Context()
	for _, n := range []string{"Work", "Old"} {
		if err := a.CreateMailbox(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := a.SetSubscribed(ctx, n, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.DeleteMailbox(ctx, "Work"); err != nil {
		t.Fatal(err)
	}
	if err := a.RenameMailbox(ctx, "Old", "New"); err != nil {
		t.Fatal(err)
	}
	subs, err := a.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(subs, "Work") || !slices.Contains(subs, "New") || slices.Contains(subs, "Old") {
		t.Errorf("subscriptions = %q; want Work (deleted) and New (renamed), not Old", subs)
	}
}

// TestChangePathsSeenByReader: the change paths not covered by
// TestModSeqEveryChange and TestChangesFromOtherProcess, each made in a
// second process (mailctl beside maild) and read by the first's Poll:
// Refresh of a file another tool wrote, RenameMailbox (the log moves
// with the folder, UIDVALIDITY kept), DeleteMailbox (the reader's next
// Poll is ErrNotFound; a folder created under the name again starts a
// new log with a new UIDVALIDITY).
func TestChangePathsSeenByReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, reader := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, writer := openAccountIn(t, dir, false)
	defer s2.Close()
	ctx := t.Context()

	// Refresh: another tool drops a file; the writer's NOOP refreshes.
	since := mustHighest(t, reader, Inbox)
	if err := os.WriteFile(filepath.Join(writer.Dir(), "new", "1700000000.M9P9Q9.elsewhere"), []byte("Subject: r\r\n\r\nr\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := writer.Refresh(ctx, Inbox); err != nil || !ok {
		t.Fatalf("Refresh = %v, %v; want a rescan", ok, err)
	}
	if p, err := reader.Poll(ctx, Inbox, since); err != nil || len(p.Changes) != 1 || p.Changes[0].Kind != MessageAdded || p.Changes[0].Message.Size == 0 {
		t.Errorf("Poll after the other's Refresh = %+v, %v; want the new message", p, err)
	}

	// RenameMailbox: the log and UIDVALIDITY go with the folder.
	if err := writer.CreateMailbox(ctx, "Work"); err != nil {
		t.Fatal(err)
	}
	m := mustDeliver(t, writer, "Work")
	before, err := reader.Poll(ctx, "Work", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.RenameMailbox(ctx, "Work", "Play"); err != nil {
		t.Fatal(err)
	}
	if err := writer.SetFlags(ctx, "Play", m.UID, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Poll(ctx, "Work", before.HighestModSeq); !errors.Is(err, ErrNotFound) {
		t.Errorf("Poll of the old name after RENAME: %v, want ErrNotFound", err)
	}
	p, err := reader.Poll(ctx, "Play", before.HighestModSeq)
	if err != nil || p.UIDValidity != before.UIDValidity || len(p.Changes) != 1 || p.Changes[0].Kind != MessageFlags || p.Changes[0].UID != m.UID {
		t.Errorf("Poll of the new name since the old MODSEQ = %+v, %v; want the flag change, UIDVALIDITY %d", p, err, before.UIDValidity)
	}

	// DeleteMailbox, then a new folder under the name.
	if err := writer.DeleteMailbox(ctx, "Play"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Poll(ctx, "Play", p.HighestModSeq); !errors.Is(err, ErrNotFound) {
		t.Errorf("Poll after DELETE: %v, want ErrNotFound", err)
	}
	if err := writer.CreateMailbox(ctx, "Play"); err != nil {
		t.Fatal(err)
	}
	again, err := reader.Poll(ctx, "Play", 1)
	if err != nil || again.UIDValidity == p.UIDValidity || again.HighestModSeq != 1 || len(again.Changes) != 0 {
		t.Errorf("Poll of the new folder = %+v, %v; want a new UIDVALIDITY and an empty log", again, err)
	}
}

// TestMarkRestored: after a restore of an older backup, no new message
// takes a UID a client saw after the backup, every client's MODSEQ is
// below the log floor (so its session resynchronises fully), the
// restored messages keep their UIDs and UIDVALIDITY, and nothing
// restored is \Recent.
func TestMarkRestored(t *testing.T) {
	t.Parallel()
	live := t.TempDir()
	s, a := openAccountIn(t, live, true)
	mustDeliver(t, a, Inbox)
	mustDeliver(t, a, Inbox)
	before, err := a.Status(t.Context(), Inbox)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	backup := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(backup, os.DirFS(live)); err != nil {
		t.Fatal(err)
	}
	// What a client saw after the backup was taken.
	s, a = openAccountIn(t, live, false)
	m3 := mustDeliver(t, a, Inbox)
	if err := a.SetFlags(t.Context(), Inbox, 1, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	seen := mustHighest(t, a, Inbox)
	s.Close()

	if err := MarkRestored(t.Context(), filepath.Join(backup, "mail", "example.com", "u")); err != nil {
		t.Fatal(err)
	}
	s, a = openAccountIn(t, backup, false)
	defer s.Close()
	ctx := t.Context()
	for _, since := range []uint64{before.HighestModSeq, seen} {
		if _, err := a.Poll(ctx, Inbox, since); !errors.Is(err, ErrChangesExpired) {
			t.Errorf("Poll(%d) after the restore: %v, want ErrChangesExpired (a full resync)", since, err)
		}
	}
	st, err := a.Status(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if st.UIDValidity != before.UIDValidity || st.Messages != 2 || st.Recent != 0 {
		t.Errorf("Status after the restore = %+v; want UIDVALIDITY %d, 2 messages, none recent", st, before.UIDValidity)
	}
	m := mustDeliver(t, a, Inbox)
	if m.UID <= m3.UID || m.ModSeq <= seen {
		t.Errorf("new message after the restore: UID %d, MODSEQ %d; a client saw UID %d and MODSEQ %d", m.UID, m.ModSeq, m3.UID, seen)
	}
	p, err := a.Poll(ctx, Inbox, m.ModSeq-1)
	if err != nil || len(p.Changes) != 1 || p.Changes[0].UID != m.UID {
		t.Errorf("Poll after the restore's first change = %+v, %v", p, err)
	}
	checkLogGapFree(t, a, Inbox)
}

// TestUpdateFlagsRenamedMidSet: STORE over a set is one transaction,
// but a file another tool renamed meanwhile commits what came before,
// rescans, and carries on: every message ends with the new flag, the
// other tool's flag is kept, and the log stays gap-free.
func TestUpdateFlagsRenamedMidSet(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	var ms []Message
	for range 5 {
		ms = append(ms, mustDeliver(t, a, Inbox))
	}
	if err := os.Rename(ms[2].Path, filepath.Join(a.Dir(), "cur", ms[2].Key+":2,F")); err != nil {
		t.Fatal(err)
	}
	uids := []uint32{ms[0].UID, ms[1].UID, ms[2].UID, ms[3].UID, ms[4].UID}
	res, err := a.UpdateFlags(ctx, Inbox, uids, func(old []string) []string { return append(old, `\Seen`) }, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 5 {
		t.Fatalf("stored %d messages, want 5: %+v", len(res.Messages), res)
	}
	msgs, err := a.Messages(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		want := []string{`\Seen`}
		if m.UID == ms[2].UID {
			want = []string{`\Flagged`, `\Seen`}
		}
		if !slices.Equal(m.Flags, want) {
			t.Errorf("UID %d flags %q, want %q", m.UID, m.Flags, want)
		}
		if _, err := os.Stat(m.Path); err != nil {
			t.Errorf("UID %d: %v", m.UID, err)
		}
	}
	checkLogGapFree(t, a, Inbox)
}
