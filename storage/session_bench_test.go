package storage

import (
	"testing"
)

// tenChanged returns an account whose INBOX has 10,000 messages, 10 of
// them changed (a keyword) after the returned MODSEQ.
func tenChanged(b *testing.B) (*Account, uint64) {
	b.Helper()
	a := benchAccount(b)
	ctx := b.Context()
	uids := fillMailbox(b, a, Inbox, 10_000)
	before, err := a.HighestModSeq(ctx, Inbox)
	if err != nil {
		b.Fatal(err)
	}
	for _, uid := range uids[5000:5010] {
		if err := a.SetFlags(ctx, Inbox, uid, []string{"$Work"}); err != nil {
			b.Fatal(err)
		}
	}
	return a, before
}

// BenchmarkPoll is a selected session's read after each command on a
// 10,000-message mailbox: "idle" when nothing changed, "ten" when 10
// messages changed since its MODSEQ.
func BenchmarkPoll(b *testing.B) {
	a, before := tenChanged(b)
	ctx := b.Context()
	high := before + 10
	for _, bc := range []struct {
		name  string
		since uint64
		want  int
	}{{"idle", high, 0}, {"ten", before, 10}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := a.Poll(ctx, Inbox, bc.since)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Changes) != bc.want || p.HighestModSeq != high {
					b.Fatalf("%d changes up to %d, want %d up to %d", len(p.Changes), p.HighestModSeq, bc.want, high)
				}
			}
		})
	}
}

// BenchmarkChangedSince is Thunderbird's steady state, `UID FETCH 1:*
// (FLAGS) (CHANGEDSINCE n)`, on a 10,000-message mailbox with 10
// changes: "log" reads the 10 rows through the change log; "scan" is
// the same answer from every message's MODSEQ (what a mailbox without
// the log, or a client behind the log floor, costs).
func BenchmarkChangedSince(b *testing.B) {
	a, before := tenChanged(b)
	ctx := b.Context()
	b.Run("log", func(b *testing.B) {
		for b.Loop() {
			ms, err := a.ChangedSince(ctx, Inbox, before)
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) != 10 {
				b.Fatalf("%d messages, want 10", len(ms))
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			rows, err := a.idx.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE mailbox = ? AND modseq > ? ORDER BY uid`, Inbox, before)
			if err != nil {
				b.Fatal(err)
			}
			ms, err := scanMessages(rows, a.dir)
			if err != nil || len(ms) != 10 {
				b.Fatalf("%d messages, %v; want 10", len(ms), err)
			}
		}
	})
}

// BenchmarkQuota is GETQUOTAROOT's read (on every SELECT by Thunderbird)
// on a 10,000-message account: the user's limit from the directory and
// the usage row.
func BenchmarkQuota(b *testing.B) {
	a, _ := tenChanged(b)
	ctx := b.Context()
	for b.Loop() {
		q, err := a.Quota(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if q.Messages != 10_000 {
			b.Fatalf("quota %+v", q)
		}
	}
}
