package imapd

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

// literalAtEOL finds "{n}" or "~{n}" ending a response line.
var literalAtEOL = regexp.MustCompile(`~?\{(\d+)\}$`)

// response reads one whole response: a line and, when it announces a
// literal, the literal's data and the rest of the line, as one string.
func (w *rawConn) response() string {
	w.t.Helper()
	var b strings.Builder
	for {
		l := w.line()
		b.WriteString(l)
		m := literalAtEOL.FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		data := make([]byte, n)
		if _, err := io.ReadFull(w.r, data); err != nil {
			w.t.Fatalf("literal: %v", err)
		}
		b.WriteString("\r\n")
		b.Write(data)
	}
}

// lit is s as a literal.
func lit(s string) string { return "{" + strconv.Itoa(len(s)) + "}\r\n" + s }

// cmdFull is cmd with literals read whole.
func (w *rawConn) cmdFull(tag, command string) (untagged []string, status string) {
	w.t.Helper()
	w.send(tag + " " + command)
	for {
		l := w.response()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

const (
	fetchPlain = "From: Ann Example <ann@example.net>\r\nTo: bob@example.org\r\nSubject: plain one\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\nMessage-ID: <p1@example.net>\r\n\r\nHello world.\r\nSecond line.\r\n"
	fetchMultipart = "From: ann@example.net\r\nSubject: parts\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 au lait\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAGFiAGNk\r\n" +
		"--XX\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644\r\n" +
		"--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: in@example.net\r\n\r\ninner body\r\n" +
		"--XX--\r\n"
)

// fetchServer holds fetchPlain (UID 1, flagged $Work) and fetchMultipart
// (UID 2) in INBOX, selected by a raw connection.
func fetchServer(t *testing.T, examine bool) (*testServer, *rawConn) {
	t.Helper()
	ts := startTestServer(t)
	date := time.Date(2024, 3, 4, 22, 8, 9, 0, time.UTC)
	for i, m := range []string{fetchPlain, fetchMultipart} {
		opts := storage.DeliverOptions{InternalDate: date}
		if i == 0 {
			opts.Flags = []string{`\Flagged`, "$Work"}
		}
		if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader(m), opts); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.loginWire(t)
	cmd := "SELECT INBOX"
	if examine {
		cmd = "EXAMINE INBOX"
	}
	if _, st := c.cmd("S", cmd); !strings.HasPrefix(st, "OK") {
		t.Fatalf("%s: %s", cmd, st)
	}
	return ts, c
}

// TestFetchItems: each FETCH item over a socket, answered as RFC 9051
// §7.5.2 and RFC 3516 §4.2 write it (partial answers name their origin;
// BINARY of data with NUL is a literal8).
func TestFetchItems(t *testing.T) {
	t.Parallel()
	_, c := fetchServer(t, true)
	plainSize := strconv.Itoa(len(fetchPlain))
	header := fetchPlain[:strings.Index(fetchPlain, "\r\n\r\n")+4]
	text := fetchPlain[len(header):]
	cases := []struct {
		cmd  string
		want []string // substrings of the untagged responses, in order
	}{
		{"FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE)", []string{
			`* 1 FETCH (UID 1 FLAGS ($Work \Flagged \Recent) INTERNALDATE " 4-Mar-2024 22:08:09 +0000" RFC822.SIZE ` + plainSize + ")"}},
		{"UID FETCH 2 FLAGS", []string{"* 2 FETCH (UID 2 FLAGS (\\Recent))"}},
		{"FETCH 1 BODY.PEEK[HEADER.FIELDS (subject date)]", []string{
			"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT DATE)] " + lit("Subject: plain one\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\n\r\n") + ")"}},
		{"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To Subject Date)]", []string{
			"BODY[HEADER.FIELDS.NOT (FROM TO SUBJECT DATE)] " + lit("Message-ID: <p1@example.net>\r\n\r\n") + ")"}},
		{"FETCH 1 BODY.PEEK[]", []string{"* 1 FETCH (BODY[] {" + plainSize + "}\r\n" + fetchPlain + ")"}},
		{"FETCH 1 BODY.PEEK[]<6.5>", []string{"* 1 FETCH (BODY[]<6> {5}\r\nAnn E)"}},
		{"FETCH 1 BODY.PEEK[]<100000.5>", []string{"* 1 FETCH (BODY[]<100000> {0}\r\n)"}},
		{"FETCH 1 BODY.PEEK[HEADER]", []string{"BODY[HEADER] {" + strconv.Itoa(len(header)) + "}\r\n" + header + ")"}},
		{"FETCH 1 BODY.PEEK[TEXT]", []string{"BODY[TEXT] {" + strconv.Itoa(len(text)) + "}\r\n" + text + ")"}},
		{"FETCH 1 BODY.PEEK[TEXT]<6.5>", []string{"BODY[TEXT]<6> {5}\r\nworld)"}},
		{"FETCH 1 BODY.PEEK[1]", []string{"BODY[1] {" + strconv.Itoa(len(text)) + "}\r\n" + text + ")"}},
		{"FETCH 1 RFC822.HEADER", []string{"RFC822.HEADER {" + strconv.Itoa(len(header)) + "}\r\n" + header + ")"}},
		{"FETCH 1 RFC822.SIZE", []string{"* 1 FETCH (RFC822.SIZE " + plainSize + ")"}},
		{"FETCH 2 BODY.PEEK[1]", []string{"BODY[1] {14}\r\ncaf=E9 au lait)"}},
		{"FETCH 2 BODY.PEEK[1.MIME]", []string{"BODY[1.MIME] {93}\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n)"}},
		{"FETCH 2 BODY.PEEK[4.HEADER]", []string{"BODY[4.HEADER] {40}\r\nSubject: inner\r\nFrom: in@example.net\r\n\r\n)"}},
		{"FETCH 2 BODY.PEEK[4.TEXT]", []string{"BODY[4.TEXT] {10}\r\ninner body)"}},
		{"FETCH 2 BODY.PEEK[4.1]", []string{"BODY[4.1] {10}\r\ninner body)"}},
		{"FETCH 2 BODY.PEEK[9]", []string{"* 2 FETCH (BODY[9] NIL)"}},
		{"FETCH 2 BINARY.PEEK[1]", []string{"* 2 FETCH (BINARY[1] {12}\r\ncaf\xe9 au lait)"}},
		{"FETCH 2 BINARY.PEEK[2]", []string{"* 2 FETCH (BINARY[2] ~{6}\r\n\x00ab\x00cd)"}},
		{"FETCH 2 BINARY.PEEK[2]<1.2>", []string{"* 2 FETCH (BINARY[2]<1> {2}\r\nab)"}},
		{"FETCH 2 BINARY.PEEK[2]<0.2>", []string{"* 2 FETCH (BINARY[2]<0> ~{2}\r\n\x00a)"}},
		{"FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[2])", []string{"* 2 FETCH (BINARY.SIZE[1] 12 BINARY.SIZE[2] 6)"}},
		{"FETCH 1 BINARY.SIZE[]", []string{"* 1 FETCH (BINARY.SIZE[] " + plainSize + ")"}},
		{"FETCH 1 BINARY.PEEK[]<0.4>", []string{"* 1 FETCH (BINARY[]<0> {4}\r\nFrom)"}},
		{"FETCH 1 ENVELOPE", []string{`* 1 FETCH (ENVELOPE ("Mon, 02 Jan 2006 15:04:05 -0700" "plain one" (("Ann Example" NIL "ann" "example.net")) (("Ann Example" NIL "ann" "example.net")) (("Ann Example" NIL "ann" "example.net")) ((NIL NIL "bob" "example.org")) NIL NIL NIL "<p1@example.net>"))`}},
		{"FETCH 1 BODY", []string{`* 1 FETCH (BODY ("text" "plain" `, ` 28 2))`}},
		{"FETCH 2 BODYSTRUCTURE", []string{`* 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 14 `, `("message" "rfc822" `, `"mixed" ("boundary" "XX") NIL NIL NIL))`}},
		{"FETCH 1 FAST", []string{`* 1 FETCH (FLAGS ($Work \Flagged \Recent) INTERNALDATE " 4-Mar-2024 22:08:09 +0000" RFC822.SIZE ` + plainSize + ")"}},
		{"FETCH 1 ALL", []string{`* 1 FETCH (FLAGS ($Work \Flagged \Recent) INTERNALDATE " 4-Mar-2024 22:08:09 +0000" RFC822.SIZE ` + plainSize + ` ENVELOPE (`}},
		{"FETCH 1 FULL", []string{` ENVELOPE (`, ` BODY ("text" "plain"`}},
		{"FETCH 1:2 (MODSEQ)", []string{"* 1 FETCH (MODSEQ (", "* 2 FETCH (MODSEQ ("}},
		{"FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.5>)", []string{
			"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: plain one\r\n\r\n BODY[TEXT]<0> {5}\r\nHello)"}},
	}
	for _, tc := range cases {
		untagged, st := c.cmdFull("F", tc.cmd)
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("%s: %s", tc.cmd, st)
			continue
		}
		all := strings.Join(untagged, "\n")
		rest := all
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s:\n got %q\nwant %q", tc.cmd, all, w)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}

// TestFetchRefused: FETCH requests the server refuses get BAD or a NO
// with its code, never [SERVERBUG], and the session goes on.
func TestFetchRefused(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, true)
	cases := []struct{ cmd, want string }{
		{"FETCH 0 FLAGS", "BAD"},
		{"FETCH 3 FLAGS", "BAD"},
		{"FETCH 1:5 FLAGS", "BAD"},
		{"FETCH 1 (FLAGS FOO)", "BAD"},
		{"FETCH 1 BODY[HEADER.FIELDS ()]", "BAD"},
		{"FETCH 1 BODY.PEEK", "BAD"},
		{"FETCH 1 (FLAGS) (CHANGEDSINCE 0)", "BAD"},
		{"FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD"},
		{"UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD"}, // QRESYNC not enabled
		{"FETCH 2 BINARY.PEEK[3]", "NO [UNKNOWN-CTE]"},
		{"UID FETCH 9 FLAGS", "OK"},
		{"FETCH 1 FLAGS", "OK"},
	}
	for _, tc := range cases {
		_, st := c.cmdFull("R", tc.cmd)
		if !strings.HasPrefix(st, tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.want)
		}
	}
	// Refusals are logged with the session's fields.
	line := ts.logs.wait(t, "refused", "op=fetch", "code=UNKNOWN-CTE")
	for _, attr := range []string{"conn_id=", "remote=127.0.0.1", "user=" + testUser} {
		if !strings.Contains(line, attr) {
			t.Errorf("log line %q lacks %s", line, attr)
		}
	}
}

// TestFetchEmptyMailbox: "*" in an empty mailbox is BAD (RFC 9051 §9
// seq-number); UID FETCH 1:* finds nothing and succeeds.
func TestFetchEmptyMailbox(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.cmd("S", "SELECT INBOX")
	for cmd, want := range map[string]string{"FETCH 1:* FLAGS": "BAD", "FETCH * FLAGS": "BAD", "UID FETCH 1:* FLAGS": "OK"} {
		if _, st := c.cmd("E", cmd); !strings.HasPrefix(st, want) {
			t.Errorf("%s: %s, want %s", cmd, st, want)
		}
	}
}

// TestFetchSetsSeen: a non-PEEK body fetch on a read-write mailbox sets
// \Seen and shows the new FLAGS in its FETCH response; PEEK and a
// read-only mailbox leave flags alone.
func TestFetchSetsSeen(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, false)
	untagged, st := c.cmdFull("A", "FETCH 2 BODY.PEEK[1]")
	if !strings.HasPrefix(st, "OK") || strings.Contains(strings.Join(untagged, ""), "FLAGS") {
		t.Errorf("BODY.PEEK: %q %s", untagged, st)
	}
	untagged, st = c.cmdFull("B", "FETCH 2 BODY[1]")
	if !strings.HasPrefix(st, "OK") || len(untagged) != 1 || !strings.HasPrefix(untagged[0], `* 2 FETCH (FLAGS (\Seen \Recent) BODY[1] {14}`) {
		t.Errorf("BODY[1]: %q %s", untagged, st)
	}
	m, err := ts.acct.Message(context.Background(), "INBOX", 2)
	if err != nil || !containsFold(m.Flags, `\Seen`) {
		t.Errorf("after BODY[1]: %+v %v", m.Flags, err)
	}
	// Already seen: no FLAGS unless asked.
	untagged, _ = c.cmdFull("C", "FETCH 2 RFC822.TEXT")
	if len(untagged) != 1 || strings.Contains(untagged[0], "FLAGS") {
		t.Errorf("RFC822.TEXT of a seen message: %q", untagged)
	}
	c.cmd("E", "EXAMINE INBOX")
	untagged, _ = c.cmdFull("D", "FETCH 1 RFC822")
	if len(untagged) != 1 || strings.Contains(untagged[0], "FLAGS") || !strings.HasPrefix(untagged[0], "* 1 FETCH (RFC822 {") {
		t.Errorf("RFC822 on EXAMINE: %q", untagged)
	}
	m, _ = ts.acct.Message(context.Background(), "INBOX", 1)
	if containsFold(m.Flags, `\Seen`) {
		t.Errorf("FETCH on EXAMINE set \\Seen: %v", m.Flags)
	}
}

// TestFetchChangedSince: CHANGEDSINCE returns only messages changed
// after the given MODSEQ, with MODSEQ (RFC 7162 §3.1.4.1).
func TestFetchChangedSince(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, false)
	m2, _ := ts.acct.Message(context.Background(), "INBOX", 2)
	if err := ts.acct.SetFlags(context.Background(), "INBOX", 1, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}
	c.cmd("N", "NOOP") // the change reaches the client as an update
	untagged, st := c.cmd("A", "FETCH 1:* (FLAGS) (CHANGEDSINCE "+strconv.FormatUint(m2.ModSeq, 10)+")")
	if !strings.HasPrefix(st, "OK") || len(untagged) != 1 || !strings.HasPrefix(untagged[0], `* 1 FETCH (FLAGS (\Answered \Recent) MODSEQ (`) {
		t.Errorf("CHANGEDSINCE: %q %s", untagged, st)
	}
}

// TestFetchSearchRes: FETCH $ fetches what SEARCH RETURN (SAVE) kept
// (RFC 5182).
func TestFetchSearchRes(t *testing.T) {
	t.Parallel()
	_, c := fetchServer(t, true)
	if u, st := c.cmd("A", "SEARCH RETURN (SAVE) SUBJECT parts"); !strings.HasPrefix(st, "OK") || len(u) != 0 {
		t.Fatalf("SEARCH SAVE: %q %s", u, st)
	}
	untagged, st := c.cmd("B", "FETCH $ (UID)")
	if !strings.HasPrefix(st, "OK") || len(untagged) != 1 || untagged[0] != "* 2 FETCH (UID 2)" {
		t.Errorf("FETCH $: %q %s", untagged, st)
	}
}

// TestFetchAnnouncesKeywords: a keyword another session set reaches the
// client in "* FLAGS" before a FETCH shows it (RFC 3501 §7.2.6), and
// SEARCH RECENT/NEW see the session's \Recent.
func TestFetchAnnouncesKeywords(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, false)
	if err := ts.acct.SetFlags(context.Background(), "INBOX", 2, []string{"Zebra"}); err != nil {
		t.Fatal(err)
	}
	untagged, st := c.cmd("A", "FETCH 2 (FLAGS)")
	flags := slices.IndexFunc(untagged, func(l string) bool { return strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, "Zebra") })
	fetch := slices.IndexFunc(untagged, func(l string) bool { return strings.HasPrefix(l, "* 2 FETCH (FLAGS (Zebra") })
	if !strings.HasPrefix(st, "OK") || flags < 0 || fetch < flags {
		t.Errorf("FETCH of a new keyword: %q %s", untagged, st)
	}
	for cmd, want := range map[string]string{"SEARCH RECENT": "* SEARCH 1 2", "SEARCH NEW": "* SEARCH 1 2", "SEARCH OLD": "* SEARCH"} {
		if untagged, _ := c.cmd("S", cmd); len(untagged) != 1 || untagged[0] != want {
			t.Errorf("%s: %q, want %q", cmd, untagged, want)
		}
	}
}

// TestFetchVanished: UID FETCH with CHANGEDSINCE and VANISHED reports
// the expunged UIDs of the set as VANISHED (EARLIER) before the changed
// messages (RFC 7162 §3.2.6).
func TestFetchVanished(t *testing.T) {
	t.Parallel()
	ts, c := fetchServer(t, false)
	if _, st := c.cmd("Q", "ENABLE QRESYNC"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("ENABLE QRESYNC: %s", st)
	}
	m2, _ := ts.acct.Message(context.Background(), "INBOX", 2)
	if err := ts.acct.Expunge(context.Background(), "INBOX", []uint32{1}); err != nil {
		t.Fatal(err)
	}
	c.cmd("N", "NOOP")
	untagged, st := c.cmd("A", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE "+strconv.FormatUint(m2.ModSeq-1, 10)+" VANISHED)")
	if !strings.HasPrefix(st, "OK") || len(untagged) != 2 || untagged[0] != "* VANISHED (EARLIER) 1" ||
		!strings.HasPrefix(untagged[1], "* 1 FETCH (UID 2 FLAGS (") {
		t.Errorf("UID FETCH VANISHED: %q %s", untagged, st)
	}
	if _, st := c.cmd("B", "FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH (not UID) with VANISHED: %s, want BAD", st)
	}
}

// TestFetchScattered: a set of many separate numbers is answered in
// order, each message once (read in one query by UID list).
func TestFetchScattered(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 12)
	c := ts.loginWire(t)
	c.cmd("S", "EXAMINE INBOX")
	for cmd, want := range map[string]string{
		"UID FETCH 11,1,3,5,7,9,3 (UID)": "1 3 5 7 9 11",
		"FETCH 2,4,6,8,10,12:11 (UID)":   "2 4 6 8 10 11 12",
	} {
		untagged, st := c.cmd("A", cmd)
		var got []string
		for _, l := range untagged {
			var seq, uid int
			if _, err := fmt.Sscanf(l, "* %d FETCH (UID %d)", &seq, &uid); err != nil || seq != uid {
				t.Errorf("%s: %q", cmd, l)
			}
			got = append(got, strconv.Itoa(uid))
		}
		if !strings.HasPrefix(st, "OK") || strings.Join(got, " ") != want {
			t.Errorf("%s = %v %s, want %s", cmd, got, st, want)
		}
	}
}
