package imapd

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSelectedCommands sends arbitrary command lines to a session with
// INBOX selected (QRESYNC enabled on every other one): the selected-state
// commands' arguments (sequence and UID sets, "$", STORE items and
// modifiers, flags, SELECT parameters, COPY/MOVE destinations, IDLE's
// DONE) reach their handlers through the wire reader. The server must
// answer with OK, NO or BAD, never NO [SERVERBUG], never panic, and end
// the session at the client's EOF.
func FuzzSelectedCommands(f *testing.F) {
	for _, s := range []string{
		`STORE 1:* +FLAGS (\Seen kw)`, `STORE 1 (UNCHANGEDSINCE 0) FLAGS.SILENT ()`, `UID STORE 1:4294967295 -FLAGS \Deleted`,
		`STORE $ +FLAGS (\Recent)`, `STORE 2,1:3 FLAGS (\Foo)`, `UID STORE * (UNCHANGEDSINCE 99999999999) +FLAGS.SILENT (a b c)`,
		`COPY 1:* INBOX`, `UID COPY 1 "&AMk-t&AOk-"`, `MOVE 1 Trash`, `UID MOVE 2:* INBOX`, `COPY 9 nosuch`,
		`EXPUNGE`, `UID EXPUNGE 1:2`, `UID EXPUNGE $`, `CLOSE`, `UNSELECT`, `CHECK`,
		`SELECT INBOX (CONDSTORE)`, `SELECT INBOX (QRESYNC (1 1 1:9 (1:2 1:2)))`, `EXAMINE INBOX (QRESYNC (4294967295 9223372036854775807))`,
		"IDLE\r\nDONE", "IDLE\r\nnope", `SELECT nosuch`, `SELECT INBOX ()`,
	} {
		f.Add(s, false)
		f.Add(s, true)
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
	f.Fuzz(func(t *testing.T, cmd string, qresync bool) {
		if len(cmd) > 4096 {
			return
		}
		// Keep the mailbox small: COPY 1:* INBOX doubles it each time.
		st, _ := acct.Status(t.Context(), "INBOX")
		if st.Messages > 50 {
			msgs, _ := acct.Messages(t.Context(), "INBOX")
			var uids []uint32
			for _, m := range msgs {
				uids = append(uids, m.UID)
			}
			acct.Expunge(t.Context(), "INBOX", uids)
			st.Messages = 0
		}
		if st.Messages < 3 {
			ts.deliver(t, "INBOX", 3)
		}
		c, err := net.Dial("tcp", ts.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		enable := ""
		if qresync {
			enable = "E ENABLE QRESYNC\r\n"
		}
		io.WriteString(c, "L LOGIN "+testUser+" "+testPassword+"\r\n"+enable+"S SELECT INBOX\r\nA "+cmd+"\r\nZ NOOP\r\n")
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
