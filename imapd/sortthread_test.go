package imapd

import (
	"context"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

// TestSortThread: SORT, UID SORT, ESORT and THREAD over a socket (RFC
// 5256, RFC 5267, RFC 5957).
func TestSortThread(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	msgs := []string{
		"From: zed@example.net\r\nSubject: Re: apple\r\nDate: Wed, 03 Jan 2024 10:00:00 +0000\r\nMessage-ID: <a1@x>\r\nIn-Reply-To: <a0@x>\r\n\r\n1\r\n",
		"From: Bob <bob@example.net>\r\nSubject: banana\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <b1@x>\r\n\r\n2\r\n",
		"From: amy@example.net\r\nSubject: apple\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nMessage-ID: <a0@x>\r\n\r\n3\r\n",
		"From: Alice <carl@example.net>\r\nSubject: Fwd: banana\r\nDate: Thu, 04 Jan 2024 10:00:00 +0000\r\nMessage-ID: <b2@x>\r\nReferences: <b1@x>\r\n\r\n4\r\n",
	}
	for i, m := range msgs {
		arrival := time.Date(2024, 2, 10-i, 0, 0, 0, 0, time.UTC) // arrival reverses the order
		if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(m), storage.DeliverOptions{InternalDate: arrival}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.loginWire(t)
	c.cmd("S", "EXAMINE INBOX")
	cases := []struct{ cmd, want string }{
		{"SORT (SUBJECT) UTF-8 ALL", "* SORT 1 3 2 4"},
		{"SORT (DATE) UTF-8 ALL", "* SORT 2 3 1 4"},
		{"SORT (REVERSE DATE) US-ASCII ALL", "* SORT 4 1 3 2"},
		{"SORT (ARRIVAL) UTF-8 ALL", "* SORT 4 3 2 1"},
		{"SORT (FROM) UTF-8 ALL", "* SORT 3 2 4 1"},
		{"SORT (SUBJECT REVERSE DATE) UTF-8 NOT FROM zed", "* SORT 3 4 2"},
		{"SORT (SIZE) UTF-8 SUBJECT nothing-like-it", "* SORT"},
		{"UID SORT (DATE) UTF-8 UID 2:*", "* SORT 2 3 4"},
		{"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL", `* ESEARCH (TAG "T") MIN 2 MAX 4 ALL 2:3,1,4 COUNT 4`},
		{"UID SORT RETURN () (REVERSE DATE) UTF-8 ALL", `* ESEARCH (TAG "T") UID ALL 4,1,3,2`},
		{"THREAD REFERENCES UTF-8 ALL", "* THREAD (2 4)(3 1)"},
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (2 4)(3 1)"},
		{"UID THREAD REFERENCES UTF-8 NOT UID 3", "* THREAD (2 4)(1)"},
	}
	for _, tc := range cases {
		untagged, st := c.cmd("T", tc.cmd)
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("%s: %s", tc.cmd, st)
			continue
		}
		if got := strings.Join(untagged, "\n"); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.cmd, got, tc.want)
		}
	}
	for cmd, want := range map[string]string{
		"SORT (FOO) UTF-8 ALL":         "BAD",
		"SORT () UTF-8 ALL":            "BAD",
		"SORT (DATE) UTF-8 FOO":        "BAD",
		"SORT (DATE) KOI8-R ALL":       "NO [BADCHARSET (UTF-8 US-ASCII)]",
		"THREAD FOO UTF-8 ALL":         "BAD",
		"THREAD REFERENCES KOI8-R ALL": "NO [BADCHARSET (UTF-8 US-ASCII)]",
	} {
		if _, st := c.cmd("E", cmd); !strings.HasPrefix(st, want) {
			t.Errorf("%s: %s, want %s", cmd, st, want)
		}
	}
}

// TestSortFromGroup: SORT (FROM) takes the addr-mailbox of the first
// address of From as ENVELOPE gives it (RFC 5256 §3), which for group
// syntax is the group's name, as Dovecot sorts (go-imap's envelope
// skipped groups); and a Date in obsolete syntax still sorts
// by that date (RFC 5256 §2.2).
func TestSortFromGroup(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	msgs := []string{
		"From: Zeta: amy@example.net;\r\nSubject: 1\r\nDate: 03 Jan 2024 10:00 GMT\r\n\r\n1\r\n",
		"From: bob@example.net\r\nSubject: 2\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n2\r\n",
		"From: <carl@example.net>\r\nSubject: 3\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\n3\r\n",
	}
	for _, m := range msgs {
		if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(m), storage.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.loginWire(t)
	c.cmd("S", "EXAMINE INBOX")
	for cmd, want := range map[string]string{
		"SORT (FROM) UTF-8 ALL": "* SORT 2 3 1",
		"SORT (DATE) UTF-8 ALL": "* SORT 2 3 1",
	} {
		untagged, st := c.cmd("T", cmd)
		if got := strings.Join(untagged, "\n"); !strings.HasPrefix(st, "OK") || got != want {
			t.Errorf("%s = %q %s, want %q", cmd, got, st, want)
		}
	}
}
