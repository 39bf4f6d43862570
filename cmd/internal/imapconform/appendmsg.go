package main

import (
	"regexp"
	"time"
)

// APPEND: RFC 3501 §6.3.11; RFC 4315 §3 (APPENDUID).
func appendGroup() group {
	return group{name: "append", checks: []check{
		{name: "APPEND answers OK [APPENDUID validity uid] with UIDPLUS", rfc: "RFC 4315 §3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.withLiteral("APPEND "+box+" ", []byte(msgPlain), "")
			if !caps(c)["UIDPLUS"] {
				return must(r, "APPEND")
			}
			if !regexpMatch(`(?i)^\S+ OK \[APPENDUID [1-9]\d* 1\]`, r.tagged) {
				return fail(r, "want OK [APPENDUID <validity> 1]")
			}
			return nil
		}},
		{name: "APPEND keeps flags and the internal date", rfc: "RFC 3501 §6.3.11", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			if err := must(c.withLiteral("APPEND "+box+` (\Flagged \Seen) "05-Dec-2026 09:08:07 +0100" `, []byte(msgPlain), ""), "APPEND"); err != nil {
				return err
			}
			c.do("SELECT " + box)
			r := c.do("FETCH 1 (FLAGS INTERNALDATE)")
			u := r.find(`^\* 1 FETCH`)
			m := regexp.MustCompile(`INTERNALDATE "([^"]+)"`).FindStringSubmatch(u)
			want := time.Date(2026, 12, 5, 8, 8, 7, 0, time.UTC)
			var got time.Time
			if m != nil {
				got, _ = time.Parse("_2-Jan-2006 15:04:05 -0700", m[1])
			}
			if !regexpMatch(`\\Flagged`, u) || !regexpMatch(`\\Seen`, u) || !got.Equal(want) {
				return fail(r, `want FLAGS (\Flagged \Seen) and INTERNALDATE at the instant "05-Dec-2026 09:08:07 +0100"`)
			}
			return nil
		}},
		{name: "APPEND to a missing mailbox: NO [TRYCREATE]", rfc: "RFC 3501 §6.3.11", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.withLiteral("APPEND "+e.box()+" ", []byte(msgPlain), "")
			if r.status != "NO" || !regexpMatch(`(?i)^\S+ NO \[TRYCREATE\]`, r.tagged) {
				return fail(r, "want NO [TRYCREATE]")
			}
			return nil
		}},
		{name: "APPEND to the selected mailbox announces * n EXISTS", rfc: "RFC 3501 §6.3.11, §7.3.1", run: func(e *env) error {
			c, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.withLiteral("APPEND "+box+" ", []byte(msgGroups), "")
			if count(r, "EXISTS") == 2 {
				return nil
			}
			if r2 := c.do("NOOP"); count(r2, "EXISTS") != 2 {
				return fail(r, "no * 2 EXISTS in APPEND's or NOOP's responses")
			}
			return nil
		}},
		{name: "APPEND of an exact size is stored byte for byte", rfc: "RFC 3501 §6.3.11, §7.4.2 (RFC822.SIZE)", run: func(e *env) error {
			c, box, err := e.selected(msgMIME)
			if err != nil {
				return err
			}
			_ = box
			r := c.do("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
			u := r.find(`^\* 1 FETCH`)
			want := regexp.QuoteMeta(msgMIME)
			if !regexpMatch(`RFC822\.SIZE `+itoa(len(msgMIME))+`\b`, u) || !regexpMatch(want, u) {
				return fail(r, "want RFC822.SIZE %d and the same bytes back", len(msgMIME))
			}
			return nil
		}},
		{name: "APPEND with a keyword adds it to FLAGS", rfc: "RFC 3501 §6.3.11, §7.2.6", run: func(e *env) error {
			c, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.withLiteral("APPEND "+box+` (cfAppendKw) `, []byte(msgGroups), "")
			if err := must(r, "APPEND"); err != nil {
				return err
			}
			r2 := c.do("NOOP")
			if !r.has(`^\* FLAGS \(.*\bcfAppendKw\b`) && !r2.has(`^\* FLAGS \(.*\bcfAppendKw\b`) {
				return fail(r2, "no * FLAGS with cfAppendKw after APPEND or NOOP")
			}
			return nil
		}},
	}}
}
