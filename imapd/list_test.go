package imapd

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestList: the delimiter answer, special-use attributes, INBOX matched
// in any case, several patterns, SPECIAL-USE selection, STATUS return
// (RFC 5819) and names in modified UTF-7, or UTF-8 after ENABLE
// IMAP4rev2.
func TestList(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	c := ts.loginWire(t)
	if u := c.must(`LIST "" ""`, "OK"); !slices.Equal(u, []string{`* LIST (\Noselect) "/" ""`}) {
		t.Errorf(`LIST "" "": %q`, u)
	}
	if u := c.must(`LIST "" "%"`, "OK"); !slices.Equal(u, []string{
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\HasNoChildren \Archive) "/" "Archive"`,
		`* LIST (\HasNoChildren \Drafts) "/" "Drafts"`,
		`* LIST (\HasNoChildren \Junk) "/" "Junk"`,
		`* LIST (\HasNoChildren \Sent) "/" "Sent"`,
		`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
	}) {
		t.Errorf(`LIST "" "%%": %q`, u)
	}
	if u := c.must(`LIST "" inbox`, "OK"); !slices.Equal(u, []string{`* LIST (\HasNoChildren) "/" INBOX`}) {
		t.Errorf(`LIST "" inbox: %q`, u)
	}
	if u := c.must(`LIST "" (Sent Trash nosuch)`, "OK"); len(u) != 2 {
		t.Errorf("LIST with two patterns: %q", u)
	}
	if u := c.must(`LIST (SPECIAL-USE) "" "*"`, "OK"); len(u) != 5 || slices.ContainsFunc(u, func(l string) bool { return strings.Contains(l, "INBOX") }) {
		t.Errorf("LIST (SPECIAL-USE): %q", u)
	}
	if u := c.must(`LIST "" INBOX RETURN (STATUS (MESSAGES UIDNEXT))`, "OK"); !slices.Equal(u, []string{
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* STATUS INBOX (MESSAGES 2 UIDNEXT 3)`,
	}) {
		t.Errorf("LIST RETURN (STATUS): %q", u)
	}
	c.must(`CREATE "&AMk-t&AOk-/x"`, "OK")
	if u := c.must(`LIST "" "&AMk-*"`, "OK"); !slices.Equal(u, []string{
		`* LIST (\Noselect \HasChildren) "/" "&AMk-t&AOk-"`,
		`* LIST (\HasNoChildren) "/" "&AMk-t&AOk-/x"`,
	}) {
		t.Errorf("LIST of a modified UTF-7 name: %q", u)
	}
	c.must("ENABLE IMAP4rev2", "OK")
	if u := c.must(`LIST "" "Ét*"`, "OK"); !slices.Equal(u, []string{
		`* LIST (\NonExistent \HasChildren) "/" "Été"`,
		`* LIST (\HasNoChildren) "/" "Été/x"`,
	}) {
		t.Errorf("LIST of a UTF-8 name after ENABLE IMAP4rev2: %q", u)
	}
	c.must(`LIST "" "&AMk-*"`, "OK") // a UTF-8 pattern now: no match, no error
}

// TestListLinear: a pattern of many wildcards over a long name answers
// at once (listmatch.go's matcher is linear; go-imap's was exponential).
func TestListLinear(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.must("CREATE "+strings.Repeat("a", 190), "OK")
	start := time.Now()
	c.must(`LIST "" "`+strings.Repeat("*a", 60)+`*b"`, "OK")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("LIST took %v", d)
	}
}
