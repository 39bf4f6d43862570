package imapd

import (
	"bytes"
	"fmt"
	"strings"

	imapwire "yubin/imapd/wire"
)

// The messages the ENVELOPE and BODYSTRUCTURE tests share, compared with
// Dovecot's answers (dovecot_envelope_test.go). Line ends are CRLF, as
// storage keeps messages.
var envelopeCorpus = []struct {
	name string
	msg  string
}{
	{"plain", "Date: Mon, 7 Dec 2026 10:00:00 +0100\nFrom: \"Alice Example\" <alice@example.net>\nTo: bob@example.org\nSubject: Hello\nMessage-ID: <1@example.net>\n\nHello, world.\n"},
	{"date-as-sent", "Date: Mon,  7 Dec 2026 10:00:00\n +0100 (CET)\nFrom: a@x\nSubject:   folded\n  subject  \n\nbody\n"},
	{"undisclosed", "From: a@x\nTo: undisclosed-recipients:;\nSubject: group\n\n"},
	{"group-list", "From: a@x\nTo: A group: a@x, b@y;, c@z\nCc: empty:;, g2: =?utf-8?b?w6k=?= <e@x>;\n\n"},
	{"encoded-words", "From: =?utf-8?q?J=C3=B6rg?= <j@x>\nTo: \"=?iso-8859-1?q?Andr=E9?=\" <andre@x>, =?utf-8?b?w6k=?= =?utf-8?b?w6k=?= <e@x>\nSubject: =?utf-8?q?h=C3=A9?=\nSender: s@x\nReply-To: r@x\n\nno newline"},
	{"missing-date-subject", "From: a@x\nTo: b@y\n\nbody\n"},
	{"empty-fields", "Subject:\nDate:\nFrom:\nSender:\nReply-To:\nMessage-ID:\nIn-Reply-To:\n\n"},
	{"sender-empty", "From: a@x\nSender:\nReply-To:  \n\n"},
	{"addr-forms", "From: John   Smith <j@x>\nTo: \"\" <e@x>, foo bar, <>, a@x\nCc: J. Smith <j@x>, a@x (Comment Name), \"Q \\\"x\\\" y\" <q@y>, <@r1,@r2:z@w>, \"a b\"@x, l@[1.2.3.4], m @ x . y\nBcc: foo, @bar, x@\nIn-Reply-To: <a@b> (c) <c@d>\nMessage-ID: <m1@x>\n\n"},
	{"8bit-header", "From: J\xc3\xb6rg <j@x>\nSubject: caf\xc3\xa9\nTo: \"J\xc3\xb6rg\" <j@x>\n\n"},
	{"empty-body", "From: a@x\nSubject: empty\n\n"},
	{"header-only", "From: a@x\nSubject: no blank line\n"},
	{"text-default-charset", "From: a@x\nContent-Type: text/plain; format=flowed\nContent-Language: en\nContent-Location: http://x/\n y\n\nx\ny\n"},
	{"text-fields", "From: a@x\nContent-Type: TEXT/HTML; Charset=\"UTF-8\"; format=flowed\nContent-Transfer-Encoding: QUOTED-PRINTABLE\nContent-ID: <id1>\nContent-Description: desc\nContent-MD5: abc=\nContent-Disposition: inline; filename=\"a b.txt\"\nContent-Language: en, de\nContent-Location: http://x/y\n\nx\n"},
	{"mixed-attachments", "From: a@x\nSubject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\npreamble\n--b1\n\npart1\n--b1\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=a.pdf\n\nAAAA\nBBBB\n--b1\nContent-Type: image/png; name*0=\"a\"; name*1=\"b.png\"\nContent-Disposition: attachment\n\nx\n--b1--\nepilogue\n"},
	{"empty-part", "From: a@x\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\n--b1\n\n--b1\nContent-Type: text/plain\n--b1--\n"},
	{"rfc822-nested", "From: a@x\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nsee attached\n--b1\nContent-Type: message/rfc822\n\nFrom: in@x\nSubject: inner\nTo: G: x@y;\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain; charset=utf-8\n\nhi\n--b2\nContent-Type: text/html\n\n<b>hi</b>\n--b2--\n\n--b1--\n"},
	{"rfc822-top", "From: a@x\nContent-Type: message/rfc822\n\nFrom: b@x\nSubject: inside\n\nbody\n"},
	{"rfc822-base64", "From: a@x\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nAAAA\n"},
	{"digest", "From: a@x\nContent-Type: multipart/digest; boundary=b1\n\n--b1\n\nFrom: d@x\n\ndigest body\n--b1--\n"},
	{"multipart-no-parts", "From: a@x\nContent-Type: multipart/mixed; boundary=b1\n\nno parts here\n"},
	{"multipart-no-boundary", "From: a@x\nContent-Type: multipart/mixed\n\n--\nx\n"},
	{"unclosed-inner", "From: a@x\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ninner\n--o\n\nsecond\n--o--\n"},
	{"padding", "From: a@x\nContent-Type: multipart/mixed; boundary=b\n\n--b  \n\nx\n--b-- x\nafter\n"},
	{"params", "From: a@x\nContent-Disposition: inline\nContent-Transfer-Encoding:\nContent-Type: text/plain; CHARSET=us-ascii; charset=\"\"\n\n"},
	{"rfc2231", "From: a@x\nContent-Type: application/x; title*=utf-8''%e2; n*0*=utf-8''a%20; n*1=b; q*0=x; q*1=y\n\n"},
	{"global", "From: a@x\nContent-Type: message/global\n\nFrom: b@x\nSubject: g\n\nbody\n"},
	// Where Yubin follows the RFC and Dovecot does not (rfcOverDovecot).
	{"invalid-type", "From: a@x\nContent-Type: foo\n\nbody\n"},
	{"nested-group", "From: a@x\nTo: g: h: i@x;;\n\n"},
	{"message-id-space", "From: a@x\nMessage-ID:  <m1@x> \n\n"},
	{"stray-semicolon", "From: a@x\nTo: a@x;, b@y\n\n"},
	{"rfc2231-mixed", "From: a@x\nContent-Type: image/png; name*0=\"a\"; name*1=\"b.png\"; title*=utf-8''%e2\n\nx"},
	{"subject-twice", "From: a@x\nSubject: one\nSubject: two\n\n"},
}

// rfcOverDovecot are Yubin's answers where they differ from Dovecot's,
// and why. Key: case name and item (ENVELOPE, BODY, BODYSTRUCTURE).
var rfcOverDovecot = map[string]struct{ want, why string }{
	"invalid-type BODYSTRUCTURE": {`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)`,
		`RFC 2045 §5.2: an invalid Content-Type is text/plain; charset=us-ascii (Dovecot: "foo" "")`},
	"invalid-type BODY": {`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1)`, "as BODYSTRUCTURE"},
	"nested-group ENVELOPE": {`(NIL NIL ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "g" NIL)(NIL NIL "i" "x")(NIL NIL NIL NIL)) NIL NIL NIL NIL)`,
		"RFC 5322 §3.4: groups do not nest; the inner name is dropped, its mailbox kept (Dovecot drops the group)"},
	"message-id-space ENVELOPE": {`(NIL NIL ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) NIL NIL NIL NIL "<m1@x>")`,
		"white space around msg-id is CFWS (RFC 5322 §3.6.4), trimmed as for every field (Dovecot keeps a trailing space in Message-ID only)"},
	"date-as-sent ENVELOPE": {`("Mon,  7 Dec 2026 10:00:00 +0100 (CET)" "folded  subject" ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) NIL NIL NIL NIL NIL)`,
		"RFC 5322 §2.2.3: unfolding removes the CRLF only, the white space after it stays (Dovecot keeps one white space character of it)"},
	"stray-semicolon ENVELOPE": {`(NIL NIL ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")(NIL NIL "b" "y")) NIL NIL NIL NIL)`,
		"a \";\" outside a group is a syntax error (RFC 5322 §3.4) that Yubin skips; Dovecot drops the rest of the list"},
	"rfc2231-mixed BODYSTRUCTURE": {`("image" "png" ("name" "ab.png" "title*" "utf-8''%e2") NIL NIL "7bit" 1 NIL NIL NIL NIL)`,
		"RFC 2231 §4: title* is one extended parameter (Dovecot names it \"title*1*\" when another parameter has continuations)"},
	"rfc2231-mixed BODY": {`("image" "png" ("name" "ab.png" "title*" "utf-8''%e2") NIL NIL "7bit" 1)`, "as BODYSTRUCTURE"},
	"subject-twice ENVELOPE": {`(NIL "one" ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) NIL NIL NIL NIL NIL)`,
		"RFC 5322 §3.6 allows one Subject; Yubin takes the first field, as SEARCH does (Dovecot: the last)"},
}

// crlf turns the corpus' LF line ends into CRLF.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// envelopeText is writeEnvelope's output.
func envelopeText(e *envelope) string {
	var b bytes.Buffer
	w := imapwire.NewWriter(&b)
	writeEnvelope(w, e)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

// bodyStructureText is writeBodyStructure's output.
func bodyStructureText(p *bodyPart, extended bool) string {
	var b bytes.Buffer
	w := imapwire.NewWriter(&b)
	writeBodyStructure(w, p, extended)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

// canonicalIMAP rewrites the strings of an IMAP response fragment in one
// form (quoted when they can be, else a literal), so that two answers
// that differ only in how they chose to write a string compare equal.
// Atoms, NIL, numbers and parentheses are kept as they are.
func canonicalIMAP(s string) (string, error) {
	var out strings.Builder
	str := func(v string) {
		if strings.ContainsAny(v, "\r\n\t") || strings.IndexFunc(v, func(r rune) bool { return r >= 0x80 }) >= 0 {
			fmt.Fprintf(&out, "{%d}\r\n%s", len(v), v)
			return
		}
		out.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`)
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '"':
			var v strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", fmt.Errorf("unterminated quoted string in %q", s)
			}
			i++
			str(v.String())
		case '{':
			end := strings.Index(s[i:], "}\r\n")
			if end < 0 {
				return "", fmt.Errorf("bad literal in %q", s)
			}
			var n int
			if _, err := fmt.Sscanf(s[i+1:i+end], "%d", &n); err != nil {
				return "", err
			}
			i += end + 3
			if i+n > len(s) {
				return "", fmt.Errorf("short literal in %q", s)
			}
			str(s[i : i+n])
			i += n
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), nil
}
