package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchAccount returns an account of a fresh store for a benchmark.
func benchAccount(b *testing.B) *Account {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := b.Context()
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		b.Fatal(err)
	}
	u, err := s.AddUser(ctx, "u@example.com", "pw", 0)
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.Account(ctx, u.Address)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkDeliverOne delivers one small message at a time (file fsync,
// rename, directory fsyncs, one index transaction), the path a change
// log row is added to.
func BenchmarkDeliverOne(b *testing.B) {
	a := benchAccount(b)
	ctx := b.Context()
	body := strings.Repeat(strings.Repeat("x", 78)+"\r\n", 2048/80)
	for b.Loop() {
		if _, err := a.Deliver(ctx, Inbox, strings.NewReader(body), DeliverOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetFlags toggles \Seen on one of 100 messages per iteration
// (a file rename, a directory fsync, the index update).
func BenchmarkSetFlags(b *testing.B) {
	a := benchAccount(b)
	ctx := b.Context()
	var uids []uint32
	for range 100 {
		m, err := a.Deliver(ctx, Inbox, strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{})
		if err != nil {
			b.Fatal(err)
		}
		uids = append(uids, m.UID)
	}
	i := 0
	for b.Loop() {
		var flags []string
		if (i/len(uids))%2 == 0 {
			flags = []string{`\Seen`}
		}
		if err := a.SetFlags(ctx, Inbox, uids[i%len(uids)], flags); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSetKeyword toggles a keyword: no file moves, so it measures
// the index write alone (before the change log: one UPDATE; with it: a
// transaction with the MODSEQ bump, the log row and the UPDATE).
func BenchmarkSetKeyword(b *testing.B) {
	a := benchAccount(b)
	ctx := b.Context()
	m, err := a.Deliver(ctx, Inbox, strings.NewReader("Subject: x\r\n\r\nx\r\n"), DeliverOptions{})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		var flags []string
		if i%2 == 0 {
			flags = []string{"$Work"}
		}
		if err := a.SetFlags(ctx, Inbox, m.UID, flags); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// fillMailbox puts n small message files into box's cur/ (no flags, so
// a keyword change renames nothing) as another tool would, indexes them
// with one rescan (no fsync per message), and returns their UIDs.
func fillMailbox(b *testing.B, a *Account, box string, n int) []uint32 {
	b.Helper()
	_, dir, err := a.mailboxDir(box)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1Q%d.bench:2,", 1700000000+i, i, i)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte("Subject: x\r\n\r\nx\r\n"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.Rescan(b.Context(), box); err != nil {
		b.Fatal(err)
	}
	msgs, err := a.Messages(b.Context(), box)
	if err != nil {
		b.Fatal(err)
	}
	if len(msgs) != n {
		b.Fatalf("%d messages indexed, want %d", len(msgs), n)
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	return uids
}

// BenchmarkStoreFlags is IMAP STORE +FLAGS ($Work) / -FLAGS on a
// 1,000-message mailbox: a keyword, so no file moves and the cost is
// the index transaction (read, MODSEQ bump, log row, UPDATE, COMMIT),
// the change-log path sessions drive hardest. "one" stores one message
// per call; "hundred" stores 100 UIDs per call (STORE 1:100), reported
// per message changed.
func BenchmarkStoreFlags(b *testing.B) {
	add := func(old []string) []string { return append(old, "$Work") }
	del := func(old []string) []string {
		return slices.DeleteFunc(old, func(f string) bool { return f == "$Work" })
	}
	for _, n := range []struct {
		name string
		set  int
	}{{"one", 1}, {"hundred", 100}} {
		b.Run(n.name, func(b *testing.B) {
			a := benchAccount(b)
			ctx := b.Context()
			uids := fillMailbox(b, a, Inbox, 1000)
			i := 0
			for b.Loop() {
				fn := add
				if (i*n.set/len(uids))%2 == 1 {
					fn = del
				}
				start := (i * n.set) % len(uids)
				res, err := a.UpdateFlags(ctx, Inbox, uids[start:start+n.set], fn, StoreOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Messages) != n.set {
					b.Fatalf("%d stored, want %d", len(res.Messages), n.set)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n.set), "ns/change")
		})
	}
}

// BenchmarkChangesSince is a session's poll after each command on a
// 10,000-message mailbox: "idle" when nothing changed (the common case),
// "ten" when 10 messages changed since the session's last MODSEQ.
func BenchmarkChangesSince(b *testing.B) {
	a := benchAccount(b)
	ctx := b.Context()
	uids := fillMailbox(b, a, Inbox, 10_000)
	for _, uid := range uids[:10] {
		if err := a.SetFlags(ctx, Inbox, uid, []string{"$Work"}); err != nil {
			b.Fatal(err)
		}
	}
	high, err := a.HighestModSeq(ctx, Inbox)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		since uint64
		want  int
	}{{"idle", high, 0}, {"ten", high - 10, 10}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				cs, err := a.Changes(ctx, Inbox, bc.since)
				if err != nil {
					b.Fatal(err)
				}
				if len(cs) != bc.want {
					b.Fatalf("%d changes, want %d", len(cs), bc.want)
				}
			}
		})
	}
}

// BenchmarkDeliverChangeLog is the index side of one Deliver (what
// follows the file's fsync and rename): the mailbox row, the key lookup,
// the MODSEQ bump and log row, the message row, UIDNEXT and the COMMIT.
// No file is written, so it measures the database alone.
func BenchmarkDeliverChangeLog(b *testing.B) {
	a := benchAccount(b)
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("1700000000.M%dP1Q1.bench,S=20", i)
		r := &deliverReq{mailbox: Inbox, rel: "new/" + key,
			m: Message{Key: key, InternalDate: time.Unix(1700000000, 0), Size: 20}}
		a.mu.Lock()
		err := a.indexBatch([]*deliverReq{r})
		a.mu.Unlock()
		if err == nil {
			err = r.err
		}
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
