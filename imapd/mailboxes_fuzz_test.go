package imapd

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzMailboxCommands sends arbitrary command lines to a logged-in
// session: the mailbox commands' arguments (names in modified UTF-7,
// LIST options and patterns, STATUS items, APPEND flags, dates and
// literals, ID lists, quota roots) reach their handlers through the wire
// reader. The server must answer every command with OK, NO or BAD,
// never NO [SERVERBUG], never panic, and end the session at the
// client's EOF.
func FuzzMailboxCommands(f *testing.F) {
	for _, s := range []string{
		`CREATE "a/b/"`, `CREATE x (USE (\Drafts))`, `DELETE INBOX`, `DELETE "&AMk-t&AOk-"`,
		`RENAME INBOX "x/y"`, `RENAME a b`, `SUBSCRIBE "gone"`, `UNSUBSCRIBE INBOX`,
		`LIST "" ""`, `LIST "" "*"`, `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`,
		`LIST (SPECIAL-USE) "" ("*" "%/%") RETURN (CHILDREN SUBSCRIBED STATUS (MESSAGES SIZE DELETED))`,
		`LSUB "" "*%"`, `STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT SIZE DELETED DELETED-STORAGE APPENDLIMIT HIGHESTMODSEQ)`,
		"APPEND INBOX (\\Seen $x) \"05-Dec-2026 09:08:07 +0100\" {5+}\r\nx\r\n\r\n",
		"APPEND Trash {1+}\r\na {1+}\r\nb", "APPEND INBOX {99999999}", "APPEND INBOX ~{3+}\r\na\x00b",
		`ID ("name" "x" "version" NIL)`, `ID NIL`, `NAMESPACE`, `GETQUOTAROOT INBOX`, `GETQUOTA ""`,
		`SETQUOTA "" (STORAGE 1)`, `CREATE "a..b"`, `LIST "INBOX/" "%"`,
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	st, acct, err := openTestStore(dir)
	if err != nil {
		f.Fatal(err)
	}
	ts, err := serve(dir, st, acct)
	if err != nil {
		st.Close()
		f.Fatal(err)
	}
	f.Cleanup(func() { ts.close() })
	f.Fuzz(func(t *testing.T, cmd string) {
		if len(cmd) > 4096 {
			return
		}
		c, err := net.Dial("tcp", ts.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, "L LOGIN "+testUser+" "+testPassword+"\r\nA "+cmd+"\r\nZ NOOP\r\n")
		c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%q: %v after %q", cmd, err, out)
		}
		if bytes.Contains(out, []byte("SERVERBUG")) {
			t.Errorf("%q: %q", cmd, out)
		}
	})
}
