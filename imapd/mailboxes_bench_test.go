package imapd

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// benchServer is a fresh server for a benchmark that changes its store.
func benchServer(b *testing.B) *testServer {
	b.Helper()
	dir, err := os.MkdirTemp("", "imapd-bench-")
	if err != nil {
		b.Fatal(err)
	}
	st, acct, err := openTestStore(dir)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := serve(dir, st, acct)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ts.close(); os.RemoveAll(dir) })
	return ts
}

// BenchmarkAppend: one APPEND of a 2 KiB message (LITERAL+) per op,
// streamed to a durable file (fsync) and indexed.
func BenchmarkAppend(b *testing.B) {
	ts := benchServer(b)
	c := ts.loginWire(b)
	msg := "From: a@example.net\r\nSubject: bench\r\n\r\n" + strings.Repeat("0123456789abcdef", 128) + "\r\n"
	cmd := fmt.Sprintf("APPEND INBOX (\\Seen) {%d+}\r\n%s", len(msg), msg)
	for b.Loop() {
		if _, st := c.cmd("A", cmd); !strings.HasPrefix(st, "OK") {
			b.Fatal(st)
		}
	}
	b.SetBytes(int64(len(msg)))
}

// BenchmarkStatus: STATUS of a mailbox of n messages, with and without
// DELETED (which reads every message's flags).
func BenchmarkStatus(b *testing.B) {
	for _, items := range []string{"MESSAGES UIDNEXT UNSEEN SIZE", "MESSAGES UNSEEN DELETED"} {
		b.Run(strings.ReplaceAll(items, " ", "_"), func(b *testing.B) {
			fx := fixture(b, 10_000)
			c := fx.ts.loginWire(b)
			for b.Loop() {
				if _, st := c.cmd("S", "STATUS INBOX ("+items+")"); !strings.HasPrefix(st, "OK") {
					b.Fatal(st)
				}
			}
		})
	}
}

// BenchmarkListStatus: LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))
// over 50 mailboxes, as a client's folder pane refresh.
func BenchmarkListStatus(b *testing.B) {
	ts := benchServer(b)
	c := ts.loginWire(b)
	for i := range 44 {
		c.cmd("C", fmt.Sprintf("CREATE folder%02d", i))
	}
	for b.Loop() {
		if u, st := c.cmd("L", `LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))`); !strings.HasPrefix(st, "OK") || len(u) != 100 {
			b.Fatal(st, len(u))
		}
	}
}
