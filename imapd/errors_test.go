package imapd

import (
	"strings"
	"testing"
)

// TestClientMistakes: requests the server refuses because of what the
// client asked get BAD or a NO with a precise code, never [SERVERBUG],
// and are logged with the session's conn_id, remote and user.
func TestClientMistakes(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 1)
	c := ts.loginWire(t)
	cases := []struct{ cmd, want string }{
		{"DELETE INBOX", "NO [CANNOT]"},
		{"DELETE inbox", "NO [CANNOT]"},
		{"DELETE nosuch", "NO [NONEXISTENT]"},
		{"CREATE INBOX", "NO [ALREADYEXISTS]"},
		{`CREATE "a.b"`, "NO [CANNOT]"},
		{"RENAME nosuch x", "NO [NONEXISTENT]"},
		{"APPEND nosuch {1+}\r\nx", "NO [TRYCREATE]"},
		{"APPEND INBOX (\\Foo) {1+}\r\nx", "BAD [CLIENTBUG]"},
		{"SELECT INBOX", "OK"},
		{"FETCH 0 FLAGS", "BAD"},
		{"FETCH 99 FLAGS", "BAD"},
		{"FETCH 1 (FLAGS FOO)", "BAD"},
		{"SEARCH FOO", "BAD"},
		{"SEARCH CHARSET KOI8-R TEXT x", "NO [BADCHARSET (UTF-8 US-ASCII)]"},
		{"STORE 1 +FLAGS (\\Foo)", "BAD [CLIENTBUG]"},
		{"COPY 1 nosuch", "NO [TRYCREATE]"},
		{"EXAMINE INBOX", "OK"},
		{"STORE 1 +FLAGS (\\Seen)", "NO [CANNOT]"},
		{"EXPUNGE", "NO [CANNOT]"},
		// RFC 3501 §6.4.2: CLOSE of a mailbox selected by EXAMINE removes
		// nothing and succeeds.
		{"CLOSE", "OK"},
		{"EXAMINE INBOX", "OK"},
		{"UNSELECT", "OK"},
	}
	for _, tc := range cases {
		_, st := c.cmd("E", tc.cmd)
		if !strings.HasPrefix(st, tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.want)
		}
	}
	line := ts.logs.wait(t, "refused", "op=delete", "INBOX cannot be deleted")
	for _, attr := range []string{"conn_id=", "remote=127.0.0.1", "user=" + testUser, "reply=NO", "code=CANNOT"} {
		if !strings.Contains(line, attr) {
			t.Errorf("log line %q lacks %s", line, attr)
		}
	}
	ts.logs.wait(t, "refused", "op=store", "reply=BAD")
}
