package imapd

import (
	"bytes"
	"strings"
	"testing"

	imapwire "yubin/imapd/wire"
)

// TestEnvelopeTable checks ENVELOPE against the RFC text, field by field.
// The date and group rows fail on go-imap's imapserver.ExtractEnvelope
// (it reformats the date, drops an unparsable one, and loses groups).
func TestEnvelopeTable(t *testing.T) {
	t.Parallel()
	const from = `((NIL NIL "a" "x"))`
	tests := []struct {
		name, header, want string
	}{
		// RFC 9051 §7.5.2 env-date: the Date field's text, not reformatted.
		{"date as sent", "Date: Mon,  7 Dec 2026 10:00:00 +0100 (CET)\nFrom: a@x\n",
			`("Mon,  7 Dec 2026 10:00:00 +0100 (CET)" NIL ` + from + " " + from + " " + from + ` NIL NIL NIL NIL NIL)`},
		{"date obsolete form", "Date: 7 Dec 26 10:00 EST\nFrom: a@x\n",
			`("7 Dec 26 10:00 EST" NIL ` + from + " " + from + " " + from + ` NIL NIL NIL NIL NIL)`},
		{"date unparsable", "Date: sometime tomorrow\nFrom: a@x\n",
			`("sometime tomorrow" NIL ` + from + " " + from + " " + from + ` NIL NIL NIL NIL NIL)`},
		// RFC 5322 §3.4 groups: start (NIL NIL "name" NIL), end (NIL NIL NIL NIL).
		{"group empty", "From: a@x\nTo: undisclosed-recipients:;\n",
			`(NIL NIL ` + from + " " + from + " " + from + ` ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)`},
		{"group and mailbox", "From: a@x\nTo: A group: a@x, b@y;, c@z\n",
			`(NIL NIL ` + from + " " + from + " " + from + ` ((NIL NIL "A group" NIL)(NIL NIL "a" "x")(NIL NIL "b" "y")(NIL NIL NIL NIL)(NIL NIL "c" "z")) NIL NIL NIL NIL)`},
		{"group unterminated", "From: a@x\nCc: team: <t@x>\n",
			`(NIL NIL ` + from + " " + from + " " + from + ` NIL ((NIL NIL "team" NIL)(NIL NIL "t" "x")(NIL NIL NIL NIL)) NIL NIL NIL)`},
		// Absent is NIL, present but empty is "" (RFC 9051 §7.5.2).
		{"missing date and subject", "From: a@x\n",
			`(NIL NIL ` + from + " " + from + " " + from + ` NIL NIL NIL NIL NIL)`},
		{"empty subject", "From: a@x\nSubject:\nMessage-ID:\n",
			`(NIL "" ` + from + " " + from + " " + from + ` NIL NIL NIL NIL "")`},
		// Sender and Reply-To default to From, also when empty.
		{"sender empty", "From: a@x\nSender:\nReply-To: r@x\n",
			`(NIL NIL ` + from + " " + from + ` ((NIL NIL "r" "x")) NIL NIL NIL NIL NIL)`},
		// Encoded words are sent as they are, not decoded.
		{"encoded word name", "From: =?utf-8?q?J=C3=B6rg?= <j@x>\nSubject: =?utf-8?q?h=C3=A9?=\n",
			`(NIL "=?utf-8?q?h=C3=A9?=" (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x")) NIL NIL NIL NIL NIL)`},
		// 8-bit text is a literal while UTF-8 is off.
		{"8-bit name", "From: J\xc3\xb6rg <j@x>\n",
			"(NIL NIL (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) NIL NIL NIL NIL NIL)"},
		// Message-ID and In-Reply-To as sent.
		{"message ids", "From: a@x\nIn-Reply-To: <a@b> (c) <c@d>\nMessage-ID: <m1@x>\n",
			`(NIL NIL ` + from + " " + from + " " + from + ` NIL NIL NIL "<a@b> (c) <c@d>" "<m1@x>")`},
		// Obsolete forms (RFC 5322 §4.4): a route, CFWS around dots.
		{"obsolete route", "From: <@r1,@r2:z@w>\nTo: m @ x . y\n",
			`(NIL NIL ((NIL "@r1,@r2" "z" "w")) ((NIL "@r1,@r2" "z" "w")) ((NIL "@r1,@r2" "z" "w")) ((NIL NIL "m" "x.y")) NIL NIL NIL NIL)`},
		{"quoted display name", "From: \"Doe, \\\"J\\\"\" <j@x>\n",
			`(NIL NIL (("Doe, \"J\"" NIL "j" "x")) (("Doe, \"J\"" NIL "j" "x")) (("Doe, \"J\"" NIL "j" "x")) NIL NIL NIL NIL NIL)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := envelopeText(parseEnvelope(crlf(tt.header + "\n")))
			if got != tt.want {
				t.Errorf("ENVELOPE of %q\n got %q\nwant %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestEnvelopeReadStopsAtBody checks readEnvelope reads the header only.
func TestEnvelopeReadStopsAtBody(t *testing.T) {
	t.Parallel()
	msg := crlf("Subject: head\nFrom: a@x\n\nSubject: body\nTo: b@y\n")
	e, err := readEnvelope(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject.Value != "head" || len(e.To) != 0 {
		t.Errorf("envelope read into the body: %s", envelopeText(e))
	}
	// A header line longer than bufio's buffer, and LF line ends.
	long := "X-Long: " + strings.Repeat("a", 10000) + "\nSubject: after\n\nbody\n"
	if e, err := readEnvelope(strings.NewReader(long)); err != nil || e.Subject.Value != "after" {
		t.Errorf("after a long line: %v %+v", err, e)
	}
}

// TestEnvelopeAddressListForms checks the parser on forms the corpus does
// not have, by the addresses it finds.
func TestEnvelopeAddressListForms(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "NIL"},
		{" , ,a@x,, ", `((NIL NIL "a" "x"))`},
		{"(only a comment)", "NIL"},
		{"a@x (Alice) , b@y", `(("Alice" NIL "a" "x")(NIL NIL "b" "y"))`},
		{"\"a\\\"b\"@x", `((NIL NIL "a\"b" "x"))`},
		{"G:;, H: <h@x>;", `((NIL NIL "G" NIL)(NIL NIL NIL NIL)(NIL NIL "H" NIL)(NIL NIL "h" "x")(NIL NIL NIL NIL))`},
		{"<a@x", `((NIL NIL "a" "x"))`},
		{"\"unterminated <a@x>", `((NIL NIL "unterminated <a@x>" "MISSING_DOMAIN"))`},
		{"a@x\r\n\t, b@y", `((NIL NIL "a" "x")(NIL NIL "b" "y"))`},
		{"José <j@x>", "(({5}\r\nJosé NIL \"j\" \"x\"))"},
	}
	for _, tt := range tests {
		budget := maxEnvelopeAddresses
		e := &envelope{To: parseAddressList([]byte(tt.in), &budget)}
		got := envelopeText(e)
		// The To list is the sixth item.
		want := "(NIL NIL NIL NIL NIL " + tt.want + " NIL NIL NIL NIL)"
		if got != want {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, want)
		}
	}
}

// TestEnvelopeAddressBudget checks a header of many short addresses
// keeps at most maxEnvelopeAddresses, groups still balanced.
func TestEnvelopeAddressBudget(t *testing.T) {
	t.Parallel()
	hdr := "From: g:" + strings.Repeat("a,", maxEnvelopeAddresses) + ";\nTo: " + strings.Repeat("a,", 100_000) + "\nCc: h: b@x;\n"
	e := parseEnvelope(crlf(hdr))
	if n := len(e.From) + len(e.To) + len(e.Cc); n > maxEnvelopeAddresses+1 {
		t.Errorf("%d addresses kept, bound %d", n, maxEnvelopeAddresses)
	}
	if last := e.From[len(e.From)-1]; last.Group != groupEnd {
		t.Errorf("group in From not ended: %+v", last)
	}
	if len(e.To) != 0 || len(e.Cc) != 0 {
		t.Errorf("To or Cc kept past the budget: %d, %d", len(e.To), len(e.Cc))
	}
}

// TestEnvelopeUTF8Quoted checks 8-bit names go out quoted once UTF-8 is
// on (IMAP4rev2, UTF8=ACCEPT), and as literals before.
func TestEnvelopeUTF8Quoted(t *testing.T) {
	t.Parallel()
	e := parseEnvelope(crlf("From: J\xc3\xb6rg <j@x>\nSubject: caf\xc3\xa9\n"))
	var b bytes.Buffer
	w := imapwire.NewWriter(&b)
	w.SetUTF8(true)
	writeEnvelope(w, e)
	w.Flush()
	want := "(NIL \"caf\xc3\xa9\" ((\"J\xc3\xb6rg\" NIL \"j\" \"x\")) ((\"J\xc3\xb6rg\" NIL \"j\" \"x\")) ((\"J\xc3\xb6rg\" NIL \"j\" \"x\")) NIL NIL NIL NIL NIL)"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	if got := envelopeText(e); !strings.Contains(got, "{5}\r\ncaf\xc3\xa9") {
		t.Errorf("without UTF-8 the subject is not a literal: %q", got)
	}
}
