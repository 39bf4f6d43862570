package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func render(t *testing.T, f func(w *Writer)) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	f(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	gray := imap.Address{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}
	env := &imap.Envelope{
		Date:    time.Date(1996, 7, 17, 2, 23, 25, 0, time.FixedZone("", -7*3600)),
		Subject: "IMAP4rev1 WG mtg summary and minutes",
		From:    []imap.Address{gray}, Sender: []imap.Address{gray}, ReplyTo: []imap.Address{gray},
		To:        []imap.Address{{Mailbox: "imap", Host: "cac.washington.edu"}},
		Cc:        []imap.Address{{Mailbox: "minutes", Host: "CNRI.Reston.VA.US"}, {Name: "John Klensin", Mailbox: "KLENSIN", Host: "MIT.EDU"}},
		MessageID: "B27397-0100000@cac.washington.edu",
	}
	// RFC 3501 §7.4.2 example (without the "(PDT)" comment).
	want := `("Wed, 17 Jul 1996 02:23:25 -0700" "IMAP4rev1 WG mtg summary and minutes" ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ` +
		`(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ` +
		`((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ` +
		`"<B27397-0100000@cac.washington.edu>")`
	if got := render(t, func(w *Writer) { w.Envelope(env) }); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	group := &imap.Envelope{To: []imap.Address{{Mailbox: "undisclosed-recipients"}, {}}, InReplyTo: []string{"a@b", "c@d"}}
	want = `(NIL NIL NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL "<a@b> <c@d>" NIL)`
	if got := render(t, func(w *Writer) { w.Envelope(group) }); got != want {
		t.Errorf("group: got  %s\nwant %s", got, want)
	}
}

func TestBodyStructure(t *testing.T) {
	t.Parallel()
	bs := &imap.BodyStructureMultiPart{Subtype: "MIXED", Children: []imap.BodyStructure{
		&imap.BodyStructureSinglePart{Type: "TEXT", Subtype: "PLAIN", Params: map[string]string{"CHARSET": "US-ASCII"},
			Encoding: "7BIT", Size: 1152, Text: &imap.BodyStructureText{NumLines: 23}},
		&imap.BodyStructureSinglePart{Type: "TEXT", Subtype: "PLAIN", Params: map[string]string{"CHARSET": "US-ASCII", "NAME": "cc.diff"},
			ID: "<960723163407.20117h@cac.washington.edu>", Description: "Compiler diff", Encoding: "BASE64", Size: 4554,
			Text: &imap.BodyStructureText{NumLines: 73}},
	}}
	// RFC 3501 §7.4.2 example.
	want := `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
		`"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")`
	if got := render(t, func(w *Writer) { w.BodyStructure(bs, false) }); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bs.Extended = &imap.BodyStructureMultiPartExt{Params: map[string]string{"boundary": "x"}}
	bs.Children[1].(*imap.BodyStructureSinglePart).Extended = &imap.BodyStructureSinglePartExt{
		Disposition: &imap.BodyStructureDisposition{Value: "attachment", Params: map[string]string{"filename": "cc.diff"}},
		Language:    []string{"en", "de"},
	}
	want = `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ` +
		`"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL ("attachment" ("filename" "cc.diff")) ("en" "de") NIL) ` +
		`"MIXED" ("boundary" "x") NIL NIL NIL)`
	if got := render(t, func(w *Writer) { w.BodyStructure(bs, true) }); got != want {
		t.Errorf("extended: got  %s\nwant %s", got, want)
	}
	msg := &imap.BodyStructureSinglePart{Type: "message", Subtype: "rfc822", Encoding: "7bit", Size: 10,
		MessageRFC822: &imap.BodyStructureMessageRFC822{NumLines: 2}}
	want = `("message" "rfc822" NIL NIL NIL "7bit" 10 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7BIT" 0) 2)`
	if got := render(t, func(w *Writer) { w.BodyStructure(msg, false) }); got != want {
		t.Errorf("rfc822: got  %s\nwant %s", got, want)
	}
}

func TestESearch(t *testing.T) {
	t.Parallel()
	all := imap.UIDSet{{Start: 1, Stop: 3}, {Start: 7, Stop: 7}}
	got := render(t, func(w *Writer) {
		w.ESearch("A285", true, imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnAll: true, ReturnCount: true},
			&imap.SearchData{Min: 1, Max: 7, Count: 4, All: all})
	})
	if want := "* ESEARCH (TAG \"A285\") UID MIN 1 MAX 7 ALL 1:3,7 COUNT 4\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = render(t, func(w *Writer) {
		w.ESearch("A286", false, imap.SearchOptions{ReturnMin: true, ReturnCount: true}, &imap.SearchData{})
	})
	if want := "* ESEARCH (TAG \"A286\") COUNT 0\r\n"; got != want {
		t.Errorf("no match: got %q, want %q", got, want)
	}
}
