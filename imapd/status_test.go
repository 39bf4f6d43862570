package imapd

import (
	"slices"
	"testing"
)

// TestStatus: every advertised item, counted from storage; DELETED and
// DELETED-STORAGE (RFC 9208, KiB rounded up) from the \Deleted flags.
func TestStatus(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 3)
	c := ts.loginWire(t)
	c.must(`APPEND INBOX (\Seen \Deleted) {5+}`+"\r\nx\r\n\r\n", "OK")
	u := c.must("STATUS INBOX (MESSAGES UNSEEN UIDNEXT RECENT DELETED DELETED-STORAGE APPENDLIMIT)", "OK")
	if !slices.Equal(u, []string{"* STATUS INBOX (MESSAGES 4 RECENT 0 UIDNEXT 5 UNSEEN 3 DELETED 1 APPENDLIMIT 52428800 DELETED-STORAGE 1)"}) {
		t.Errorf("STATUS: %q", u)
	}
	c.must("STATUS nosuch (MESSAGES)", "NO [NONEXISTENT]")
	c.must("STATUS INBOX (FOO)", "BAD")
	c.must("STATUS INBOX ()", "BAD")
}
