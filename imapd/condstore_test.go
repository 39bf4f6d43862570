package imapd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"yubin/storage"
)

// selectCodes returns the UIDVALIDITY and HIGHESTMODSEQ of SELECT's
// untagged responses.
func selectCodes(t *testing.T, untagged []string) (validity uint32, hm uint64) {
	t.Helper()
	for _, l := range untagged {
		if rest, ok := strings.CutPrefix(l, "* OK [UIDVALIDITY "); ok {
			n, _ := strconv.ParseUint(rest[:strings.IndexByte(rest, ']')], 10, 32)
			validity = uint32(n)
		}
		if rest, ok := strings.CutPrefix(l, "* OK [HIGHESTMODSEQ "); ok {
			hm, _ = strconv.ParseUint(rest[:strings.IndexByte(rest, ']')], 10, 64)
		}
	}
	if validity == 0 || hm == 0 {
		t.Fatalf("SELECT without UIDVALIDITY or HIGHESTMODSEQ: %q", untagged)
	}
	return validity, hm
}

// TestQresyncAfterDisconnect: a client that synchronised, went away, and
// comes back with SELECT (QRESYNC (uidvalidity modseq known-uids)) learns
// with VANISHED (EARLIER) of the message another session expunged
// meanwhile and with FETCH (UID FLAGS MODSEQ) of the one whose flags
// changed (RFC 7162 §3.2.5), and nothing about the others.
func TestQresyncAfterDisconnect(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 4)
	c := ts.loginWire(t)
	c.mustOK("E", "ENABLE QRESYNC")
	validity, hm := selectCodes(t, c.mustOK("S", "SELECT INBOX"))
	c.mustOK("L", "LOGOUT")

	other := ts.loginWire(t)
	other.mustOK("S", "SELECT INBOX")
	other.mustOK("D", `STORE 2 +FLAGS.SILENT (\Deleted)`)
	other.mustOK("X", "EXPUNGE")
	other.mustOK("F", `STORE 3 +FLAGS.SILENT (\Seen)`) // message 3 is UID 4 now
	other.mustOK("L", "LOGOUT")
	m4, err := ts.acct.Message(context.Background(), "INBOX", 4)
	if err != nil {
		t.Fatal(err)
	}

	back := ts.loginWire(t)
	back.mustOK("E", "ENABLE QRESYNC")
	got := back.mustOK("S", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:4))", validity, hm))
	i := slices.Index(got, "* VANISHED (EARLIER) 2")
	j := slices.Index(got, fmt.Sprintf(`* 3 FETCH (UID 4 FLAGS (\Seen) MODSEQ (%d))`, m4.ModSeq))
	if i < 0 || j < 0 || i > j {
		t.Errorf("SELECT QRESYNC: %q; want VANISHED (EARLIER) 2, then the FETCH of UID 4", got)
	}
	if n := len(slices.DeleteFunc(slices.Clone(got), func(l string) bool { return !strings.Contains(l, "FETCH") })); n != 1 {
		t.Errorf("SELECT QRESYNC: %d FETCH responses, want 1: %q", n, got)
	}
	if !hasPrefixLine(got, "* 3 EXISTS") {
		t.Errorf("SELECT QRESYNC: %q, want 3 EXISTS", got)
	}

	// Known UIDs limit the answer; another UIDVALIDITY gets none.
	again := ts.loginWire(t)
	again.mustOK("E", "ENABLE QRESYNC")
	got = again.mustOK("S", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 3:4))", validity, hm))
	if hasPrefixLine(got, "* VANISHED") || !hasPrefixLine(got, "* 3 FETCH") {
		t.Errorf("SELECT QRESYNC with known UIDs 3:4: %q", got)
	}
	got = again.mustOK("S", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", validity+1, hm))
	if hasPrefixLine(got, "* VANISHED") || hasPrefixLine(got, "FETCH") {
		t.Errorf("SELECT QRESYNC with another UIDVALIDITY: %q", got)
	}
}

// TestVanishedWhileSelected: a QRESYNC client is told of expunges with
// VANISHED, not EXPUNGE (RFC 7162 §3.2.10), and flag changes carry UID
// and MODSEQ.
func TestVanishedWhileSelected(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	uids := ts.deliver(t, "INBOX", 3)
	c := ts.loginWire(t)
	c.mustOK("E", "ENABLE QRESYNC")
	c.mustOK("S", "SELECT INBOX")
	ctx := context.Background()
	if err := ts.acct.Expunge(ctx, "INBOX", uids[:2]); err != nil {
		t.Fatal(err)
	}
	if err := ts.acct.SetFlags(ctx, "INBOX", uids[2], []string{storage.FlagAnswered}); err != nil {
		t.Fatal(err)
	}
	m, _ := ts.acct.Message(ctx, "INBOX", uids[2])
	got := c.mustOK("N", "NOOP")
	want := []string{"* VANISHED 1:2", fmt.Sprintf(`* 1 FETCH (UID 3 FLAGS (\Answered \Recent) MODSEQ (%d))`, m.ModSeq)}
	if !slices.Equal(got, want) {
		t.Errorf("NOOP: %q, want %q", got, want)
	}
}

// TestQresyncAfterRestore: after a backup is restored the change log no
// longer reaches back to the client's MODSEQ (storage.MarkRestored), and
// SELECT (QRESYNC ...) resynchronises from the messages themselves:
// VANISHED (EARLIER) for every known UID that is gone, FETCH for every
// message changed since (RFC 7162 §3.2.5, storage/modseq.go).
func TestQresyncAfterRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, acct, err := openTestStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := serve(dir, st, acct)
	if err != nil {
		t.Fatal(err)
	}
	ts.deliver(t, "INBOX", 4)
	c := ts.loginWire(t)
	c.mustOK("E", "ENABLE QRESYNC")
	validity, hm := selectCodes(t, c.mustOK("S", "SELECT INBOX"))
	c.mustOK("L", "LOGOUT")
	ctx := context.Background()
	if err := acct.Expunge(ctx, "INBOX", []uint32{2}); err != nil {
		t.Fatal(err)
	}
	if err := acct.SetFlags(ctx, "INBOX", 3, []string{storage.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	if err := ts.close(); err != nil {
		t.Fatal(err)
	}
	if err := storage.MarkRestored(ctx, acct.Dir()); err != nil {
		t.Fatal(err)
	}
	st, acct, err = reopenTestStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts, err = serve(dir, st, acct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.close() })
	back := ts.loginWire(t)
	back.mustOK("E", "ENABLE QRESYNC")
	got := back.mustOK("S", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:4))", validity, hm))
	m3, _ := acct.Message(ctx, "INBOX", 3)
	i := slices.Index(got, "* VANISHED (EARLIER) 2")
	j := slices.Index(got, fmt.Sprintf(`* 2 FETCH (UID 3 FLAGS (\Seen) MODSEQ (%d))`, m3.ModSeq))
	if i < 0 || j < i {
		t.Errorf("SELECT QRESYNC after a restore: %q", got)
	}
	// Live: the log is empty again from here; a flag change reaches the
	// session as usual.
	if err := acct.SetFlags(ctx, "INBOX", 4, []string{storage.FlagFlagged}); err != nil {
		t.Fatal(err)
	}
	if got := back.mustOK("N", "NOOP"); len(got) != 1 || !strings.HasPrefix(got[0], `* 3 FETCH (UID 4 FLAGS (\Flagged) MODSEQ (`) {
		t.Errorf("NOOP after a flag change: %q", got)
	}
}

// reopenTestStore opens the store openTestStore made in dir again.
func reopenTestStore(dir string) (*storage.Store, *storage.Account, error) {
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		return nil, nil, err
	}
	addr, _ := storage.ParseAddress(testUser)
	acct, err := st.Account(context.Background(), addr)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, acct, nil
}
