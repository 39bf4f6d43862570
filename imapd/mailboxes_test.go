package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// run sends each command and fails the test unless its status starts
// with want; it returns the untagged lines of the last one.
func (w *rawConn) must(cmd, want string) []string {
	w.t.Helper()
	u, st := w.cmd("T", cmd)
	if !strings.HasPrefix(st, want) {
		w.t.Fatalf("%s: %s, want %s (untagged %q)", cmd, st, want, u)
	}
	return u
}

// hasLine reports whether lines hold want exactly.
func hasLine(lines []string, want string) bool { return slices.Contains(lines, want) }

// TestCreateDeleteRename: CREATE drops a trailing delimiter, DELETE
// keeps children (the name stays as a \Noselect level, and deleting that
// level is NO [HASCHILDREN]), RENAME moves children and subscriptions,
// and RENAME INBOX moves its messages into the new mailbox.
func TestCreateDeleteRename(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	c := ts.loginWire(t)
	c.must("CREATE work/", "OK")
	c.must("CREATE work/2026", "OK")
	if u := c.must(`LIST "" "work*"`, "OK"); !hasLine(u, `* LIST (\HasChildren) "/" "work"`) || !hasLine(u, `* LIST (\HasNoChildren) "/" "work/2026"`) {
		t.Errorf("LIST after CREATE: %q", u)
	}
	c.must("CREATE work", "NO [ALREADYEXISTS]")
	c.must("DELETE work", "OK")
	if u := c.must(`LIST "" "work*"`, "OK"); !hasLine(u, `* LIST (\Noselect \HasChildren) "/" "work"`) {
		t.Errorf("LIST after DELETE of a parent: %q", u)
	}
	c.must("DELETE work", "NO [HASCHILDREN]")
	c.must("RENAME work/2026 old/2026", "OK")
	if u := c.must(`LIST "" "*"`, "OK"); hasLine(u, `* LIST (\HasNoChildren) "/" "work/2026"`) || !hasLine(u, `* LIST (\HasNoChildren) "/" "old/2026"`) {
		t.Errorf("LIST after RENAME: %q", u)
	}
	c.must("RENAME INBOX saved", "OK")
	for name, want := range map[string]int{"INBOX": 0, "saved": 2} {
		st, err := ts.acct.Status(context.Background(), name)
		if err != nil || st.Messages != want {
			t.Errorf("%s after RENAME INBOX: %d messages, %v; want %d", name, st.Messages, err, want)
		}
	}
	c.must("RENAME nosuch x", "NO [NONEXISTENT]")
	c.must("RENAME saved Sent", "NO [ALREADYEXISTS]")
	c.must(`CREATE "bad%name"`, "NO [CANNOT]")
}

// TestCreateSpecialUse: CREATE's USE parameter (RFC 6154 §3,
// CREATE-SPECIAL-USE) records the use: LIST shows it, RENAME carries it,
// DELETE drops it; an unsupported use (\All: a virtual mailbox) or two
// uses are NO [USEATTR] and nothing is created.
func TestCreateSpecialUse(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.must(`CREATE Notes (USE (\Archive))`, "OK")
	if u := c.must(`LIST "" Notes`, "OK"); len(u) != 1 || !strings.Contains(u[0], `\Archive`) {
		t.Errorf("LIST Notes after CREATE (USE (\\Archive)): %q", u)
	}
	if u := c.must(`LIST (SPECIAL-USE) "" "*"`, "OK"); !slices.ContainsFunc(u, func(l string) bool { return strings.Contains(l, `"Notes"`) || strings.HasSuffix(l, " Notes") }) {
		t.Errorf("LIST (SPECIAL-USE) lacks Notes: %q", u)
	}
	c.must(`RENAME Notes Old/Notes`, "OK")
	if u := c.must(`LIST "" Old/Notes`, "OK"); len(u) != 1 || !strings.Contains(u[0], `\Archive`) {
		t.Errorf("LIST after RENAME: %q", u)
	}
	c.must(`DELETE Old/Notes`, "OK")
	c.must(`CREATE Old/Notes`, "OK")
	if u := c.must(`LIST "" Old/Notes`, "OK"); len(u) != 1 || strings.Contains(u[0], `\Archive`) {
		t.Errorf("a mailbox created again kept the deleted one's use: %q", u)
	}
	c.must(`CREATE Everything (USE (\All))`, "NO [USEATTR]")
	c.must(`CREATE Two (USE (\Sent \Drafts))`, "NO [USEATTR]")
	for _, n := range []string{"Everything", "Two"} {
		if u := c.must(`LIST "" `+n, "OK"); len(u) != 0 {
			t.Errorf("%s created anyway: %q", n, u)
		}
	}
	c.must(`CREATE Notes (FOO (\Drafts))`, "BAD")
}

// TestSubscribe: SUBSCRIBE/UNSUBSCRIBE show in LSUB and in LIST
// (SUBSCRIBED); a subscribed mailbox that is deleted stays listed as
// \NonExistent; LSUB with a trailing "%" gives an unsubscribed level
// above a subscribed mailbox as \Noselect (RFC 3501 §6.3.9);
// RECURSIVEMATCH gives CHILDINFO (RFC 5258 §3.5).
func TestSubscribe(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.must("CREATE a/b", "OK")
	c.must("CREATE gone", "OK")
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
		c.must("UNSUBSCRIBE "+n, "OK")
	}
	c.must("UNSUBSCRIBE a/b", "OK")
	c.must("UNSUBSCRIBE a/b", "OK") // not subscribed: no error
	if u := c.must(`LSUB "" "*"`, "OK"); len(u) != 0 {
		t.Errorf("LSUB: %q", u)
	}
	c.must("SUBSCRIBE a/b", "OK")
	c.must("DELETE gone", "OK")
	c.must("SUBSCRIBE gone", "OK")
	if u := c.must(`LSUB "" "%"`, "OK"); !slices.Equal(u, []string{`* LSUB (\Noselect) "/" "a"`, `* LSUB (\Noselect) "/" "gone"`}) {
		t.Errorf(`LSUB "" "%%": %q`, u)
	}
	if u := c.must(`LIST (SUBSCRIBED) "" "*"`, "OK"); !slices.Equal(u, []string{
		`* LIST (\Subscribed \HasNoChildren) "/" "a/b"`,
		`* LIST (\NonExistent \Subscribed) "/" "gone"`,
	}) {
		t.Errorf("LIST (SUBSCRIBED): %q", u)
	}
	if u := c.must(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`, "OK"); !slices.Equal(u, []string{
		`* LIST (\NonExistent \HasChildren) "/" "a" ("CHILDINFO" ("SUBSCRIBED"))`,
		`* LIST (\NonExistent \Subscribed) "/" "gone"`,
	}) {
		t.Errorf("LIST (SUBSCRIBED RECURSIVEMATCH): %q", u)
	}
	if u := c.must(`LIST "" "%" RETURN (SUBSCRIBED)`, "OK"); !hasLine(u, `* LIST (\NonExistent \HasChildren) "/" "a"`) || hasLine(u, `* LIST (\NonExistent \Subscribed) "/" "gone"`) {
		t.Errorf("LIST RETURN (SUBSCRIBED): %q", u)
	}
	c.must(`LIST (RECURSIVEMATCH) "" "%"`, "BAD")
}

// TestSubscriptionsKept: CREATE does not subscribe the new mailbox, even
// in an account still on the implicit "everything" list, and DELETE
// keeps the name subscribed (RFC 9051 §6.3.7).
func TestSubscriptionsKept(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.must("CREATE p", "OK")
	c.must("CREATE p/child", "OK")
	c.must("SUBSCRIBE p/child", "OK")
	if u := c.must(`LSUB "" "p%"`, "OK"); !slices.Equal(u, []string{`* LSUB (\Noselect) "/" "p"`}) {
		t.Errorf(`LSUB "" "p%%": %q`, u)
	}
	c.must("DELETE p/child", "OK")
	if u := c.must(`LIST (SUBSCRIBED) "" "p/child"`, "OK"); !slices.Equal(u, []string{`* LIST (\NonExistent \Subscribed) "/" "p/child"`}) {
		t.Errorf(`LIST (SUBSCRIBED) after DELETE: %q`, u)
	}
	// An unsubscribed INBOX stays so through a CREATE.
	c.must("UNSUBSCRIBE INBOX", "OK")
	c.must("CREATE q", "OK")
	if u := c.must(`LSUB "" "*"`, "OK"); !slices.Equal(u, []string{`* LSUB () "/" "Archive"`, `* LSUB () "/" "Drafts"`, `* LSUB () "/" "Junk"`, `* LSUB () "/" "Sent"`, `* LSUB () "/" "Trash"`, `* LSUB (\Noselect) "/" "p/child"`}) {
		t.Errorf("LSUB after UNSUBSCRIBE INBOX and CREATE: %q", u)
	}
}
