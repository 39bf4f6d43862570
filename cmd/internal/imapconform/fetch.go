package main

import (
	"regexp"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

// fetchOne selects a fresh mailbox with msg and fetches items of 1.
func fetchOne(e *env, msg, items string) (*resp, string, error) {
	c, _, err := e.selected(msg)
	if err != nil {
		return nil, "", err
	}
	r := c.do("FETCH 1 " + items)
	if err := must(r, "FETCH"); err != nil {
		return r, "", err
	}
	return r, r.find(`^\* 1 FETCH`), nil
}

// FETCH: RFC 3501 §6.4.5, §7.4.2; RFC 3516 (BINARY).
func fetchGroup() group {
	contains := func(items, msg, want string) func(e *env) error {
		return func(e *env) error {
			r, u, err := fetchOne(e, msg, items)
			if err != nil {
				return err
			}
			if !strings.Contains(u, want) {
				return fail(r, "want %s", want)
			}
			return nil
		}
	}
	matches := func(items, msg, pattern, what string) func(e *env) error {
		return func(e *env) error {
			r, u, err := fetchOne(e, msg, items)
			if err != nil {
				return err
			}
			if !regexp.MustCompile(pattern).MatchString(u) {
				return fail(r, "want %s", what)
			}
			return nil
		}
	}
	return group{name: "fetch", checks: []check{
		{name: "ENVELOPE date is the Date field's value as written", rfc: "RFC 3501 §7.4.2 (ENVELOPE: date), RFC 9051 §7.5.2", run: contains("ENVELOPE", msgPlain,
			`ENVELOPE ("Mon, 7 Dec 2026 10:00:00 +0000" `)},
		{name: "ENVELOPE addresses, a display name with a comma", rfc: "RFC 3501 §7.4.2 (ENVELOPE)", run: contains("ENVELOPE", msgPlain,
			`"plain one" (("Doe, John" NIL "john" "example.org")) (("Doe, John" NIL "john" "example.org")) (("Doe, John" NIL "john" "example.org")) (("Mary" NIL "mary" "example.net")) NIL NIL NIL "<plain1@example.org>")`)},
		{name: "ENVELOPE with RFC 5322 groups (start and end markers)", rfc: "RFC 3501 §7.4.2 (ENVELOPE), RFC 5322 §3.4", run: contains("ENVELOPE", msgGroups,
			`((NIL NIL "Team" NIL)(NIL NIL "a" "example.com")(NIL NIL "b" "example.com")(NIL NIL NIL NIL)) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))`)},
		{name: "ENVELOPE of an angle-addr, a comment and a quoted-pair name", rfc: "RFC 3501 §7.4.2 (ENVELOPE), RFC 5322 §3.4", run: matches("ENVELOPE", msgForms,
			`"forms" \(\(NIL NIL "angle" "example\.org"\)\) \(\((NIL|"Comment Person") NIL "plain" "example\.org"\)\) \(\(("Quoted \\"Name\\""|\{13\}\r\nQuoted "Name") NIL "quoted" "example\.org"\)\) \(\(NIL NIL "mary" "example\.net"\)\) NIL NIL NIL "<forms1@example\.org>"\)`,
			`(NIL NIL "angle" "example.org"), sender "plain" "example.org", reply-to ("Quoted \"Name\"" NIL "quoted" "example.org")`)},
		{name: "BODYSTRUCTURE of a multipart with an empty part", rfc: "RFC 3501 §7.4.2 (BODYSTRUCTURE)", run: matches("BODYSTRUCTURE", msgMIME,
			`(?i)BODYSTRUCTURE \(\("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" \d+ \d+ NIL NIL NIL( NIL)?\)\("text" "plain" \("charset" "us-ascii"\) NIL NIL "7bit" 0 0 NIL NIL NIL( NIL)?\)\("application" "octet-stream" NIL NIL NIL "base64" 12 NIL NIL NIL( NIL)?\) "mixed" \("boundary" "b1"\) NIL NIL( NIL)?\)`,
			`("text" "plain" ... n n)("text" "plain" ... 0 0)("application" "octet-stream" ... "base64" 12) "mixed" ("boundary" "b1")`)},
		{name: "BODY[1] is the first part's text", rfc: "RFC 3501 §6.4.5", run: matches("BODY.PEEK[1]", msgMIME,
			`BODY\[1\] (\{14\}\r\n|")Part one body\.`, `BODY[1] "Part one body."`)},
		{name: "BODY[2] of an empty part is an empty string", rfc: "RFC 3501 §6.4.5, §7.4.2", run: matches("BODY.PEEK[2]", msgMIME,
			`BODY\[2\] (""|\{0\}\r\n)`, `BODY[2] "" (or {0})`)},
		{name: "BODY[]<0.5> answers BODY[]<0> with 5 octets", rfc: "RFC 3501 §6.4.5, §7.4.2", run: matches("BODY.PEEK[]<0.5>", msgPlain,
			`BODY\[\]<0> (\{5\}\r\nFrom:|"From:")`, `BODY[]<0> {5} From:`)},
		{name: "BODY[HEADER.FIELDS (SUBJECT)] is that field and a blank line", rfc: "RFC 3501 §6.4.5", run: matches("BODY.PEEK[HEADER.FIELDS (SUBJECT)]", msgPlain,
			`(?i)BODY\[HEADER\.FIELDS \("?SUBJECT"?\)\] \{22\}\r\nSubject: plain one\r\n\r\n`, `{22} Subject: plain one CRLF CRLF`)},
		{name: "BODY[TEXT] is the body", rfc: "RFC 3501 §6.4.5", run: matches("BODY.PEEK[TEXT]", msgPlain,
			`BODY\[TEXT\] (\{14\}\r\n|")Hello world\.`, `BODY[TEXT] Hello world.`)},
		{name: "RFC822.SIZE is the octet count", rfc: "RFC 3501 §7.4.2 (RFC822.SIZE)", run: contains("RFC822.SIZE", msgPlain, "RFC822.SIZE "+itoa(len(msgPlain)))},
		{name: "BINARY[3] is the decoded part", rfc: "RFC 3516 §4.2", run: func(e *env) error {
			r, u, err := fetchOne(e, msgMIME, "BINARY.PEEK[3]")
			if err != nil {
				return err
			}
			if !strings.Contains(u, "BINARY[3] ~{8}\r\n\x00\x01\x02\x03\x04\x05\x06\x07") && !strings.Contains(u, "BINARY[3] {8}\r\n\x00") {
				return fail(r, `want BINARY[3] ~{8} and bytes 00..07`)
			}
			return nil
		}},
		{name: "BINARY partial answers with its origin, BINARY[1]<0>", rfc: "RFC 3516 §4.2, RFC 3501 §7.4.2", run: matches("BINARY.PEEK[1]<0.4>", msgMIME,
			`BINARY\[1\]<0> (~?\{4\}\r\nPart|"Part")`, `BINARY[1]<0> {4} Part`)},
		{name: "BINARY.SIZE[3] is the decoded size", rfc: "RFC 3516 §4.3", run: contains("BINARY.SIZE[3]", msgMIME, "BINARY.SIZE[3] 8")},
		{name: "BINARY of an empty part", rfc: "RFC 3516 §4.2", run: matches("BINARY.PEEK[2]", msgMIME,
			`BINARY\[2\] (""|~?\{0\}\r\n)`, `BINARY[2] "" (or {0})`)},
		{name: "FETCH BODY[] sets \\Seen, BODY.PEEK[] does not", rfc: "RFC 3501 §6.4.5", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do("FETCH 1 BODY.PEEK[]")
			c.do("FETCH 2 BODY[]")
			r := c.do("FETCH 1:2 FLAGS")
			if strings.Contains(r.find(`^\* 1 FETCH`), `\Seen`) || !strings.Contains(r.find(`^\* 2 FETCH`), `\Seen`) {
				return fail(r, `want \Seen on 2 only`)
			}
			return nil
		}},
		{name: "UID FETCH includes UID in every FETCH response", rfc: "RFC 3501 §6.4.8", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			r := c.do("UID FETCH 1:* FLAGS")
			if len(r.all(`^\* \d+ FETCH .*UID \d+`)) != 2 {
				return fail(r, "want two FETCH responses with UID")
			}
			return nil
		}},
		{name: "UID FETCH n:* with n above every UID still returns the last message", rfc: "RFC 3501 §6.4.8, §9 (seq-range)", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			r := c.do("UID FETCH 100:* FLAGS")
			if !r.has(`^\* 2 FETCH \(.*UID 2\b`) || r.has(`^\* 1 FETCH`) {
				return fail(r, "want only * 2 FETCH (UID 2 ...)")
			}
			return must(r, "UID FETCH")
		}},
		{name: "BODY[1.MIME] is the part's MIME header", rfc: "RFC 3501 §6.4.5", run: contains("BODY.PEEK[1.MIME]", msgMIME,
			"BODY[1.MIME] {46}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")},
		{name: "BODY[HEADER] ends with the blank line", rfc: "RFC 3501 §6.4.5", run: func(e *env) error {
			r, u, err := fetchOne(e, msgPlain, "BODY.PEEK[HEADER]")
			if err != nil {
				return err
			}
			hdr := msgPlain[:strings.Index(msgPlain, "\r\n\r\n")+4]
			if !strings.Contains(u, "BODY[HEADER] {"+itoa(len(hdr))+"}\r\n"+hdr) {
				return fail(r, "want BODY[HEADER] {%d} with the header and the blank line", len(hdr))
			}
			return nil
		}},
		{name: "ENVELOPE subject keeps RFC 2047 encoded-words as written", rfc: "RFC 3501 §7.4.2 (ENVELOPE: fields are not decoded)", run: contains("ENVELOPE", msgEncoded,
			`"=?UTF-8?Q?gr=C3=BC=C3=9Fe?=" (("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?=" NIL "joerg" "example.com"))`)},
		{name: "a partial fetch of an empty part is empty, with its origin", rfc: "RFC 3501 §6.4.5, §7.4.2", run: matches("BODY.PEEK[2]<0.10>", msgMIME,
			`BODY\[2\]<0> (""|\{0\}\r\n)`, `BODY[2]<0> ""`)},
		{name: "BINARY.SIZE of an empty part is 0", rfc: "RFC 3516 §4.3", run: contains("BINARY.SIZE[2]", msgMIME, "BINARY.SIZE[2] 0")},
	}}
}
