package storage

import (
	"context"
	"strings"
	"testing"
)

// TestDeleted: Deleted counts exactly the messages flagged \Deleted and
// sums their sizes; a missing mailbox is ErrNotFound.
func TestDeleted(t *testing.T) {
	ctx := context.Background()
	_, a := newTestAccount(t, 0)
	var want int64
	for i, flags := range [][]string{{`\Deleted`}, {`\Seen`}, {`\Seen`, `\Deleted`}, nil, {"$Deleted"}} {
		m, err := a.Deliver(ctx, "INBOX", strings.NewReader("Subject: "+strings.Repeat("x", i)+"\r\n\r\nbody\r\n"), DeliverOptions{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		if containsFlag(flags, `\Deleted`) {
			want += m.Size
		}
	}
	n, size, err := a.Deleted(ctx, "INBOX")
	if err != nil || n != 2 || size != want {
		t.Errorf("Deleted = %d, %d, %v; want 2, %d", n, size, err, want)
	}
	if _, _, err := a.Deleted(ctx, "nosuch"); err == nil {
		t.Errorf("Deleted of a missing mailbox: no error")
	}
}

func containsFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}
