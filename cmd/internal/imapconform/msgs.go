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

// count returns n from "* n WORD" (EXISTS, RECENT), -1 if absent.
func count(r *resp, word string) int {
	u := r.find(`^\* \d+ ` + word + `$`)
	if u == "" {
		return -1
	}
	n, _ := strconv.Atoi(strings.Fields(u)[1])
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
