package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mustDeliver(t *testing.T, a *Account, box string, flags ...string) Message {
	t.Helper()
	m, err := a.Deliver(t.Context(), box, strings.NewReader("Subject: x\r\n\r\nbody\r\n"), DeliverOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustHighest(t *testing.T, a *Account, box string) uint64 {
	t.Helper()
	n, err := a.HighestModSeq(t.Context(), box)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// changeList renders changes as "kind:uid@modseq[flags]" for comparison.
func changeList(cs []Change) []string {
	var out []string
	for _, c := range cs {
		k := map[ChangeKind]string{MessageAdded: "new", MessageFlags: "flags", MessageExpunged: "expunge"}[c.Kind]
		s := fmt.Sprintf("%s:%d@%d", k, c.UID, c.ModSeq)
		if c.Kind != MessageExpunged {
			s += "[" + strings.Join(c.Flags, " ") + "]"
			if c.Message.ModSeq != c.ModSeq && c.Kind == MessageFlags {
				s += fmt.Sprintf("!msg@%d", c.Message.ModSeq)
			}
		}
		out = append(out, s)
	}
	return out
}

func mustChanges(t *testing.T, a *Account, box string, since uint64) []string {
	t.Helper()
	cs, err := a.Changes(t.Context(), box, since)
	if err != nil {
		t.Fatalf("Changes(%s, %d): %v", box, since, err)
	}
	return changeList(cs)
}

// checkLogGapFree checks that the change log of box holds exactly the
// MODSEQs logfloor+1 .. highestmodseq.
func checkLogGapFree(t *testing.T, a *Account, box string) {
	t.Helper()
	var floor, highest uint64
	if err := a.idx.QueryRow(`SELECT logfloor, highestmodseq FROM mailboxes WHERE name = ?`, box).Scan(&floor, &highest); err != nil {
		t.Fatal(err)
	}
	rows, err := a.idx.Query(`SELECT modseq FROM changelog WHERE mailbox = ? ORDER BY modseq`, box)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := floor + 1
	for rows.Next() {
		var n uint64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("change log of %s: modseq %d where %d was due (floor %d, highest %d)", box, n, want, floor, highest)
		}
		want++
	}
	if want-1 != highest {
		t.Fatalf("change log of %s ends at %d, highestmodseq %d", box, want-1, highest)
	}
}

// TestModSeqEveryChange: each kind of change, through each write path,
// takes exactly the next MODSEQ; a no-op does not; observers, Changes,
// the message listing and Status agree.
func TestModSeqEveryChange(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	ctx := t.Context()
	var mu sync.Mutex
	var observed []Change
	s.SetObserver(func(_ context.Context, c Change) {
		mu.Lock()
		observed = append(observed, c)
		mu.Unlock()
	})

	if got := mustHighest(t, a, Inbox); got != 1 {
		t.Fatalf("HIGHESTMODSEQ of a new mailbox = %d, want 1 (RFC 7162 §7: never 0)", got)
	}
	m1 := mustDeliver(t, a, Inbox)
	m2 := mustDeliver(t, a, Inbox, `\Seen`)
	if m1.ModSeq != 2 || m2.ModSeq != 3 {
		t.Fatalf("Deliver modseqs = %d, %d; want 2, 3", m1.ModSeq, m2.ModSeq)
	}
	// Setting the flags a message has is no change and takes no MODSEQ.
	if ms, err := a.StoreFlags(ctx, Inbox, m2.UID, []string{`\Seen`}, StoreOptions{}); err != nil || ms != 3 {
		t.Fatalf("StoreFlags(no change) = %d, %v; want 3", ms, err)
	}
	if err := a.SetFlags(ctx, Inbox, m1.UID, []string{`\Flagged`}); err != nil { // 4: a system flag
		t.Fatal(err)
	}
	if err := a.SetFlags(ctx, Inbox, m1.UID, []string{`\Flagged`, "$Work"}); err != nil { // 5: a keyword
		t.Fatal(err)
	}
	// Another tool drops a file into new/, renames one to add a flag,
	// and removes one; a rescan logs each.
	m3 := mustDeliver(t, a, Inbox) // 6
	outside := filepath.Join(a.Dir(), "new", "1700000000.M1P1Q1.elsewhere")
	if err := os.WriteFile(outside, []byte("Subject: y\r\n\r\ny\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(m3.Path, filepath.Join(a.Dir(), "cur", m3.Key+":2,S")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m2.Path); err != nil {
		t.Fatal(err)
	}
	if err := a.Rescan(ctx, Inbox); err != nil { // 7 expunge m2, 8 flags m3, 9 new
		t.Fatal(err)
	}
	if err := a.Expunge(ctx, Inbox, []uint32{m1.UID, 999}); err != nil { // 10
		t.Fatal(err)
	}
	// COPY is a new message in the destination's own log.
	if err := a.CreateMailbox(ctx, "Archive2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Copy(ctx, Inbox, []uint32{m3.UID}, "Archive2"); err != nil {
		t.Fatal(err)
	}

	if got := mustHighest(t, a, Inbox); got != 10 {
		t.Errorf("HIGHESTMODSEQ = %d, want 10", got)
	}
	if got := mustHighest(t, a, "Archive2"); got != 2 {
		t.Errorf("HIGHESTMODSEQ of the copy's mailbox = %d, want 2", got)
	}
	want := []string{
		// m1's new (2) and flags (4, 5) and m2's new (3) end in
		// expunges; m3's new is listed with its flags of now.
		"new:3@6[\\Seen]",
		"expunge:2@7",
		"flags:3@8[\\Seen]",
		"new:4@9[]",
		"expunge:1@10",
	}
	if got := mustChanges(t, a, Inbox, 1); !slices.Equal(got, want) {
		t.Errorf("Changes(1) =\n%q\nwant\n%q", got, want)
	}
	if got, want := mustChanges(t, a, Inbox, 8), want[3:]; !slices.Equal(got, want) {
		t.Errorf("Changes(8) = %q, want %q", got, want)
	}
	if got := mustChanges(t, a, Inbox, 10); len(got) != 0 {
		t.Errorf("Changes(HIGHESTMODSEQ) = %q, want none", got)
	}
	msgs, err := a.Messages(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ModSeq != 8 || msgs[1].ModSeq != 9 {
		t.Errorf("Messages = %+v; want modseqs 8, 9", msgs)
	}
	if st, err := a.Status(ctx, Inbox); err != nil || st.HighestModSeq != 10 {
		t.Errorf("Status = %+v, %v; want HighestModSeq 10", st, err)
	}
	mu.Lock()
	var inbox []string
	for _, c := range observed {
		if c.Mailbox == Inbox {
			inbox = append(inbox, fmt.Sprintf("%d", c.ModSeq))
		}
	}
	mu.Unlock()
	if got := strings.Join(inbox, ","); got != "2,3,4,5,6,7,8,9,10" {
		t.Errorf("observed modseqs %s; want 2..10 in order", got)
	}
	checkLogGapFree(t, a, Inbox)
	checkLogGapFree(t, a, "Archive2")

	// A renamed mailbox keeps its log; a deleted one loses it.
	if err := a.RenameMailbox(ctx, "Archive2", "Archive3"); err != nil {
		t.Fatal(err)
	}
	if got := mustChanges(t, a, "Archive3", 1); len(got) != 1 || !strings.HasPrefix(got[0], "new:1@2") {
		t.Errorf("Changes after rename = %q", got)
	}
	if err := a.DeleteMailbox(ctx, "Archive3"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.idx.QueryRow(`SELECT COUNT(*) FROM changelog WHERE mailbox LIKE 'Archive%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("change log rows of a deleted mailbox: %d, %v", n, err)
	}
}

// TestChangesFromOtherProcess: changes made through a second Store on
// the same data directory (mailctl beside maild) are in the first
// Store's Changes, with MODSEQs that continue one sequence.
func TestChangesFromOtherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	m1 := mustDeliver(t, a1, Inbox) // 2
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	m2 := mustDeliver(t, a2, Inbox) // 3
	if m2.ModSeq != 3 {
		t.Errorf("the other process's Deliver got modseq %d, want 3", m2.ModSeq)
	}
	if err := a2.SetFlags(t.Context(), Inbox, m1.UID, []string{`\Answered`}); err != nil { // 4
		t.Fatal(err)
	}
	if err := a2.Expunge(t.Context(), Inbox, []uint32{m2.UID}); err != nil { // 5
		t.Fatal(err)
	}
	m3 := mustDeliver(t, a1, Inbox) // 6
	if m3.ModSeq != 6 {
		t.Errorf("Deliver after the other process's changes got modseq %d, want 6", m3.ModSeq)
	}
	want := []string{"flags:1@4[\\Answered]", "expunge:2@5", "new:3@6[]"}
	if got := mustChanges(t, a1, Inbox, 3); !slices.Equal(got, want) {
		t.Errorf("first store's Changes(3) = %q, want %q", got, want)
	}
	if got := mustChanges(t, a2, Inbox, 3); !slices.Equal(got, want) {
		t.Errorf("second store's Changes(3) = %q, want %q", got, want)
	}
	checkLogGapFree(t, a1, Inbox)

	// mailctl verify --repair in the other process finds a file another
	// tool dropped into new/: its rescan is in the first store's log.
	outside := filepath.Join(a2.Dir(), "new", "1700000000.M2P2Q2.elsewhere")
	if err := os.WriteFile(outside, []byte("Subject: z\r\n\r\nz\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s2.RepairAccount(t.Context(), a2.Address()); err != nil {
		t.Fatal(err)
	}
	if got := mustChanges(t, a1, Inbox, 6); !slices.Equal(got, []string{"new:4@7[]"}) {
		t.Errorf("first store's Changes(6) after the other's repair = %q, want [new:4@7[]]", got)
	}
}

// dropModSeqSchema turns a current index back into one of version v
// (1 or 2): no change log, no modseq columns.
func dropModSeqSchema(t *testing.T, a *Account, v int) {
	t.Helper()
	for _, q := range []string{
		`DROP TABLE changelog`,
		`ALTER TABLE messages DROP COLUMN modseq`,
		`ALTER TABLE mailboxes DROP COLUMN highestmodseq`,
		`ALTER TABLE mailboxes DROP COLUMN logfloor`,
		fmt.Sprintf(`PRAGMA user_version = %d`, v),
	} {
		if _, err := a.idx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestModSeqMigration: an index of version 2 (or 1) is migrated in
// place at the next open: UIDs, UIDVALIDITY, flags and keywords stay,
// every message and mailbox has modseq 1, the log starts empty above 1,
// and the next change takes 2.
func TestModSeqMigration(t *testing.T) {
	t.Parallel()
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprint("version", v), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, a := openAccountIn(t, dir, true)
			ctx := t.Context()
			mustDeliver(t, a, Inbox, `\Seen`, "$Label1")
			mustDeliver(t, a, Inbox)
			before, err := a.Messages(ctx, Inbox)
			if err != nil {
				t.Fatal(err)
			}
			validity, next, err := a.UIDs(ctx, Inbox)
			if err != nil {
				t.Fatal(err)
			}
			dropModSeqSchema(t, a, v)
			s.Close()

			s, a = openAccountIn(t, dir, false)
			defer s.Close()
			after, err := a.Messages(ctx, Inbox)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Fatalf("after migration %d messages, want %d", len(after), len(before))
			}
			for i := range after {
				if after[i].ModSeq != 1 {
					t.Errorf("message %d has modseq %d, want 1", after[i].UID, after[i].ModSeq)
				}
				after[i].ModSeq = before[i].ModSeq
				if !slices.Equal(after[i].Flags, before[i].Flags) || after[i].UID != before[i].UID || after[i].Key != before[i].Key {
					t.Errorf("message after migration %+v, before %+v", after[i], before[i])
				}
			}
			if v2, n2, err := a.UIDs(ctx, Inbox); err != nil || v2 != validity || n2 != next {
				t.Errorf("UIDs after migration = %d, %d, %v; want %d, %d", v2, n2, err, validity, next)
			}
			if got := mustHighest(t, a, Inbox); got != 1 {
				t.Errorf("HIGHESTMODSEQ after migration = %d, want 1", got)
			}
			var uv int
			if err := a.idx.QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil || uv != indexVersion {
				t.Errorf("user_version = %d, %v; want %d", uv, err, indexVersion)
			}
			if _, err := a.Changes(ctx, Inbox, 0); !errors.Is(err, ErrChangesExpired) {
				t.Errorf("Changes(0) after migration: %v; want ErrChangesExpired (full resync)", err)
			}
			if got := mustChanges(t, a, Inbox, 1); len(got) != 0 {
				t.Errorf("Changes(1) after migration = %q, want none", got)
			}
			if err := a.SetFlags(ctx, Inbox, after[1].UID, []string{`\Seen`}); err != nil {
				t.Fatal(err)
			}
			if got := mustChanges(t, a, Inbox, 1); len(got) != 1 || got[0] != fmt.Sprintf("flags:%d@2[\\Seen]", after[1].UID) {
				t.Errorf("Changes(1) after a change = %q", got)
			}
		})
	}
}

// TestExpungeTombstone: an expunged message leaves its UID and MODSEQ in
// the log (QRESYNC VANISHED (EARLIER)); its own earlier entries are gone
// from Changes.
func TestExpungeTombstone(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	var uids []uint32
	for range 3 {
		uids = append(uids, mustDeliver(t, a, Inbox).UID)
	}
	if err := a.Expunge(ctx, Inbox, []uint32{uids[2], uids[0]}); err != nil {
		t.Fatal(err)
	}
	want := []string{"new:2@3[]", "expunge:1@5", "expunge:3@6"}
	if got := mustChanges(t, a, Inbox, 1); !slices.Equal(got, want) {
		t.Errorf("Changes(1) = %q, want %q", got, want)
	}
	if got := mustChanges(t, a, Inbox, 4); !slices.Equal(got, want[1:]) {
		t.Errorf("Changes(4) = %q, want %q", got, want[1:])
	}
}

// TestStoreFlagsUnchangedSince: RFC 7162 §3.1.3. A message modified after
// UNCHANGEDSINCE is refused with ErrModified and left alone.
func TestStoreFlagsUnchangedSince(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	m := mustDeliver(t, a, Inbox) // modseq 2
	ms, err := a.StoreFlags(ctx, Inbox, m.UID, []string{`\Seen`}, StoreOptions{Conditional: true, UnchangedSince: 2})
	if err != nil || ms != 3 {
		t.Fatalf("StoreFlags(UNCHANGEDSINCE 2) = %d, %v; want 3", ms, err)
	}
	// Another client still believes modseq 2.
	_, err = a.StoreFlags(ctx, Inbox, m.UID, []string{`\Deleted`}, StoreOptions{Conditional: true, UnchangedSince: 2})
	if !errors.Is(err, ErrModified) {
		t.Fatalf("StoreFlags on a message modified since: %v; want ErrModified", err)
	}
	_, err = a.StoreFlags(ctx, Inbox, m.UID, []string{`\Deleted`}, StoreOptions{Conditional: true, UnchangedSince: 0})
	if !errors.Is(err, ErrModified) {
		t.Fatalf("StoreFlags(UNCHANGEDSINCE 0): %v; want ErrModified", err)
	}
	got, err := a.Message(ctx, Inbox, m.UID)
	if err != nil || !slices.Equal(got.Flags, []string{`\Seen`}) || got.ModSeq != 3 || mustHighest(t, a, Inbox) != 3 {
		t.Fatalf("after refused stores: %+v, %v; want \\Seen at modseq 3", got, err)
	}
	if _, err := os.Stat(got.Path); err != nil {
		t.Errorf("file after refused stores: %v", err)
	}
	if _, err := a.StoreFlags(ctx, Inbox, 99, nil, StoreOptions{Conditional: true, UnchangedSince: 9}); !errors.Is(err, ErrNotFound) {
		t.Errorf("StoreFlags on a missing UID: %v; want ErrNotFound", err)
	}
}

// TestChangesConcurrent: writers in this process and in another change
// flags while a reader follows Changes: every read is ordered and above
// the last one, the log stays gap-free, and HIGHESTMODSEQ counts exactly
// the changes made.
func TestChangesConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1, a1 := openAccountIn(t, dir, true)
	defer s1.Close()
	s2, a2 := openAccountIn(t, dir, false)
	defer s2.Close()
	ctx := t.Context()
	const writers, rounds = 4, 15
	var uids []uint32
	for range writers {
		uids = append(uids, mustDeliver(t, a1, Inbox).UID)
	}
	start := mustHighest(t, a1, Inbox)

	stop := make(chan struct{})
	readerDone := make(chan error, 1)
	go func() {
		last := start
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			cs, err := a1.Changes(ctx, Inbox, last)
			if err != nil {
				readerDone <- err
				return
			}
			for _, c := range cs {
				if c.ModSeq <= last {
					readerDone <- fmt.Errorf("change %+v after modseq %d", c, last)
					return
				}
				last = c.ModSeq
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		a := a1
		if w%2 == 1 {
			a = a2 // another process
		}
		wg.Go(func() {
			// Each writer toggles \Seen on its own message, so every call
			// is a change and the count is exact.
			for r := range rounds {
				var flags []string
				if r%2 == 0 {
					flags = []string{`\Seen`}
				}
				if err := a.SetFlags(ctx, Inbox, uids[w], flags); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	checkLogGapFree(t, a1, Inbox)
	if got := mustHighest(t, a1, Inbox); got != start+writers*rounds {
		t.Fatalf("HIGHESTMODSEQ = %d, want %d + %d changes", got, start, writers*rounds)
	}
	// The final state per message is what Changes reports, each at the
	// MODSEQ the message has.
	cs, err := a1.Changes(ctx, Inbox, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != writers {
		t.Errorf("Changes(%d) = %q; want the last change of each of %d messages", start, changeList(cs), writers)
	}
	for _, c := range cs {
		if c.Kind != MessageFlags || c.Message.ModSeq != c.ModSeq {
			t.Errorf("change %+v", c)
		}
	}
}

// TestChangeLogRetention: beyond its limit the log drops the oldest
// changes; a client older than that gets ErrChangesExpired.
func TestChangeLogRetention(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	a.changeLogLimit = 5
	ctx := t.Context()
	m := mustDeliver(t, a, Inbox)
	for i := range 20 {
		flags := []string{`\Seen`}
		if i%2 == 1 {
			flags = nil
		}
		if err := a.SetFlags(ctx, Inbox, m.UID, flags); err != nil {
			t.Fatal(err)
		}
	}
	highest := mustHighest(t, a, Inbox) // 22
	checkLogGapFree(t, a, Inbox)
	var n int
	if err := a.idx.QueryRow(`SELECT COUNT(*) FROM changelog`).Scan(&n); err != nil || n != 5 {
		t.Errorf("log rows = %d, %v; want 5", n, err)
	}
	if _, err := a.Changes(ctx, Inbox, highest-6); !errors.Is(err, ErrChangesExpired) {
		t.Errorf("Changes(%d): %v; want ErrChangesExpired", highest-6, err)
	}
	if got := mustChanges(t, a, Inbox, highest-5); len(got) != 1 {
		t.Errorf("Changes(%d) = %q; want the last flag change", highest-5, got)
	}
}

// TestUpdateFlagsSet: STORE over a set: +FLAGS applied to each message's
// current flags, one MODSEQ per changed message, a message modified since
// UNCHANGEDSINCE listed in Modified and left alone, a missing UID skipped.
func TestUpdateFlagsSet(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	ctx := t.Context()
	m1 := mustDeliver(t, a, Inbox, "$A") // 2
	m2 := mustDeliver(t, a, Inbox)       // 3
	m3 := mustDeliver(t, a, Inbox)       // 4
	// 5: m3 changes after the client's UNCHANGEDSINCE 4.
	if err := a.SetFlags(ctx, Inbox, m3.UID, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}
	plusSeen := func(old []string) []string { return append(old, `\Seen`) }
	res, err := a.UpdateFlags(ctx, Inbox, []uint32{m1.UID, 77, m2.UID, m3.UID}, plusSeen, StoreOptions{Conditional: true, UnchangedSince: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Modified, []uint32{m3.UID}) {
		t.Errorf("Modified = %v, want [%d]", res.Modified, m3.UID)
	}
	var got []string
	for _, m := range res.Messages {
		got = append(got, fmt.Sprintf("%d@%d[%s]", m.UID, m.ModSeq, strings.Join(m.Flags, " ")))
	}
	if want := []string{"1@6[$A \\Seen]", "2@7[\\Seen]"}; !slices.Equal(got, want) {
		t.Errorf("Messages = %q, want %q", got, want)
	}
	if m, err := a.Message(ctx, Inbox, m3.UID); err != nil || slices.Contains(m.Flags, `\Seen`) || m.ModSeq != 5 {
		t.Errorf("refused message now %+v, %v", m, err)
	}
	if _, err := a.UpdateFlags(ctx, "NoSuch", []uint32{1}, plusSeen, StoreOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateFlags on a missing mailbox: %v; want ErrNotFound", err)
	}
}
