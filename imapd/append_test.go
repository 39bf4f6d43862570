package imapd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppendCutShort: a connection that ends inside an APPEND literal
// stores nothing (not the bytes that did arrive), with synchronizing and
// non-synchronizing (LITERAL+) literals alike.
func TestAppendCutShort(t *testing.T) {
	t.Parallel()
	for _, lit := range []string{"{40000000}", "{40000000+}"} {
		t.Run(lit, func(t *testing.T) {
			t.Parallel()
			ts := startTestServer(t)
			c := ts.loginWire(t)
			c.send("A APPEND INBOX " + lit)
			if !strings.HasSuffix(lit, "+}") {
				if l := c.line(); !strings.HasPrefix(l, "+") {
					t.Fatalf("APPEND: %q", l)
				}
			}
			if _, err := c.conn.Write([]byte("Subject: x")); err != nil {
				t.Fatal(err)
			}
			c.conn.Close()
			ts.logs.wait(t, "disconnected")

			st, err := ts.acct.Status(context.Background(), "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if st.Messages != 0 {
				t.Errorf("INBOX holds %d messages after a cut-short APPEND", st.Messages)
			}
			for _, sub := range []string{"tmp", "new", "cur"} {
				files, err := os.ReadDir(filepath.Join(ts.acct.Dir(), sub))
				if err != nil {
					t.Fatal(err)
				}
				if len(files) != 0 {
					t.Errorf("%s/ holds %d files", sub, len(files))
				}
			}
			line := ts.logs.wait(t, "append cut short")
			if !strings.Contains(line, "received=10") || !strings.Contains(line, "user="+testUser) {
				t.Errorf("log line %q", line)
			}
		})
	}
}

// TestAppendWhole: the same APPEND with every byte stores the message.
func TestAppendWhole(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	msg := "Subject: x\r\n\r\nhello\r\n"
	c.send(fmt.Sprintf("A APPEND INBOX {%d+}", len(msg)))
	c.send(msg)
	if _, st := c.until("A"); !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Fatalf("APPEND: %s", st)
	}
	st, err := ts.acct.Status(context.Background(), "INBOX")
	if err != nil || st.Messages != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
}
