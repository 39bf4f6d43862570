package storage

import (
	"strings"
	"testing"
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
