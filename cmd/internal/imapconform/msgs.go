package main

import (
	"regexp"
	"strconv"
	"strings"
)

// The test messages, in wire form (CRLF). Checks APPEND them to a fresh
// mailbox.
var (
	msgPlain = crlf(`From: "Doe, John" <john@example.org>
To: Mary <mary@example.net>
Subject: plain one
Date: Mon, 7 Dec 2026 10:00:00 +0000
Message-ID: <plain1@example.org>

Hello world.
`)
	msgGroups = crlf(`From: mary@example.net
To: Team: a@example.com, b@example.com;
Cc: undisclosed-recipients:;
Subject: groups
Date: Mon, 7 Dec 2026 11:00:00 +0000
Message-ID: <groups1@example.net>

Group mail.
`)
	msgEncoded = crlf(`From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>
To: mary@example.net
Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=
Date: Mon, 7 Dec 2026 12:00:00 +0000
Message-ID: <enc1@example.com>

Encoded words.
`)
	// msgForms has From as a bare angle-addr and Sender with a comment.
	msgForms = crlf(`From: <angle@example.org>
Sender: plain@example.org (Comment Person)
Reply-To: "Quoted \"Name\"" <quoted@example.org>
To: mary@example.net
Subject: forms
Date: Mon, 7 Dec 2026 14:00:00 +0000
Message-ID: <forms1@example.org>

Address forms.
`)
	// msgMIME has three parts: text, an empty text part and 8 bytes
	// (0x00..0x07) in base64.
	msgMIME = crlf(`From: john@example.org
To: mary@example.net
Subject: mime
Date: Mon, 7 Dec 2026 13:00:00 +0000
Message-ID: <mime1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Part one body.
--b1
Content-Type: text/plain; charset=us-ascii


--b1
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgc=
--b1--
`)
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// count returns n from the last "* n WORD" (EXISTS, RECENT): the
// state the responses leave the client in; -1 if absent.
func count(r *resp, word string) int {
	all := r.all(`^\* \d+ ` + word + `$`)
	if len(all) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(strings.Fields(all[len(all)-1])[1])
	return n
}

// statusItem returns an item's number in "* STATUS box (...)", -1 if absent.
func statusItem(r *resp, item string) int {
	u := r.find(`^\* STATUS `)
	m := regexp.MustCompile(`(?i)[( ]` + item + ` (\d+)`).FindStringSubmatch(u)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// caps returns the capabilities the server lists (upper case).
func caps(c *conn) map[string]bool {
	r := c.do("CAPABILITY")
	out := map[string]bool{}
	u := r.find(`^\* CAPABILITY `)
	for _, f := range strings.Fields(u)[min(2, len(strings.Fields(u))):] {
		out[strings.ToUpper(f)] = true
	}
	return out
}

// delim returns the hierarchy delimiter from LIST "" "". RFC 3501 §6.3.8
func delim(c *conn) string {
	r := c.do(`LIST "" ""`)
	m := regexp.MustCompile(`^\* LIST \([^)]*\) "(\\?.)"`).FindStringSubmatch(r.find(`^\* LIST`))
	if m == nil {
		return "/"
	}
	return strings.TrimPrefix(m[1], `\`)
}

// msgThread is a small crafted thread set for SORT and THREAD (RFC 5256):
// "alpha" (1) with a reply (2) and a reply to the reply (4); "beta" (3)
// with a reply (5). Dates, senders and subjects are chosen so that every
// sort key gives a different order:
//
//	seq  date    from  subject
//	1    1 Dec   zed   alpha
//	2    3 Dec   amy   Re: alpha
//	3    2 Dec   bob   beta
//	4    4 Dec   carl  Re: Re: alpha
//	5    5 Dec   dan   Fwd: beta
var msgThread = []string{
	threadMsg("zed", "alpha", "Tue, 1 Dec 2026 10:00:00 +0000", "t1", ""),
	threadMsg("amy", "Re: alpha", "Thu, 3 Dec 2026 10:00:00 +0000", "t2", "<t1@thread.test>"),
	threadMsg("bob", "beta", "Wed, 2 Dec 2026 10:00:00 +0000", "t3", ""),
	threadMsg("carl", "Re: Re: alpha", "Fri, 4 Dec 2026 10:00:00 +0000", "t4", "<t1@thread.test> <t2@thread.test>"),
	threadMsg("dan", "Fwd: beta", "Sat, 5 Dec 2026 10:00:00 +0000", "t5", "<t3@thread.test>"),
}

func threadMsg(from, subject, date, id, refs string) string {
	h := "From: " + from + "@thread.test\nTo: mary@example.net\nSubject: " + subject +
		"\nDate: " + date + "\nMessage-ID: <" + id + "@thread.test>\n"
	if refs != "" {
		f := strings.Fields(refs)
		h += "In-Reply-To: " + f[len(f)-1] + "\nReferences: " + refs + "\n"
	}
	return crlf(h + "\nThread body " + id + ".\n")
}

// number returns the first decimal number after the regular expression
// prefix in s (as in `MODSEQ \(` or `HIGHESTMODSEQ `), -1 if none.
func number(s, prefix string) int64 {
	m := regexp.MustCompile(`(?i)` + prefix + `(\d+)`).FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// highestModseq returns n from "* OK [HIGHESTMODSEQ n]", -1 if absent.
func highestModseq(r *resp) int64 {
	return number(r.find(`^\* OK \[HIGHESTMODSEQ \d+\]`), `HIGHESTMODSEQ `)
}

// modseqOf returns the MODSEQ in message seq's FETCH response, -1 if none.
func modseqOf(r *resp, seq int) int64 {
	return number(r.find(`^\* `+itoa(seq)+` FETCH .*MODSEQ \(`), `MODSEQ \(`)
}

// uidsIn returns the UIDs of the FETCH responses in r, in order.
func uidsIn(r *resp) []int64 {
	var out []int64
	for _, u := range r.all(`^\* \d+ FETCH \(.*\bUID \d+`) {
		out = append(out, number(u, `\bUID `))
	}
	return out
}

// selectedWith is e.selected with a SELECT or EXAMINE command of one's
// own (with parameters): it returns the connection, the mailbox and the
// SELECT's responses.
func (e *env) selectedWith(cmd string, msgs ...string) (*conn, string, *resp, error) {
	c, err := e.login()
	if err != nil {
		return nil, "", nil, err
	}
	box, err := e.fresh(c, msgs...)
	if err != nil {
		return nil, "", nil, err
	}
	r := c.do(strings.Replace(cmd, "BOX", box, 1))
	if r.status != "OK" {
		return nil, "", r, fail(r, "%s failed", strings.Fields(cmd)[0])
	}
	return c, box, r, nil
}
