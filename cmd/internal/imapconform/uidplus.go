package main

import "regexp"

// UIDPLUS: RFC 4315.
func uidplusGroup() group {
	return group{name: "uidplus", needs: []string{"UIDPLUS"}, checks: []check{
		{name: "APPENDUID names the appended message: its UIDVALIDITY and UID", rfc: "RFC 4315 §3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			r := c.withLiteral("APPEND "+box+" ", []byte(msgGroups), "")
			m := regexp.MustCompile(`(?i)\[APPENDUID (\d+) (\d+)\]`).FindStringSubmatch(r.tagged)
			if m == nil {
				return fail(r, "want OK [APPENDUID validity uid]")
			}
			st := c.do("STATUS " + box + " (UIDVALIDITY)")
			if itoa(statusItem(st, "UIDVALIDITY")) != m[1] {
				return fail(st, "APPENDUID validity %s is not the mailbox's", m[1])
			}
			c.do("SELECT " + box)
			f := c.do("UID FETCH " + m[2] + " (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
			if !f.has(`<groups1@example\.net>`) {
				return fail(f, "UID %s is not the appended message", m[2])
			}
			return nil
		}},
		{name: "UID COPY of a set with a gap answers COPYUID with both sets in order", rfc: "RFC 4315 §3", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			dst, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.do("UID COPY 1,3 " + dst)
			if !regexpMatch(`(?i)^\S+ OK \[COPYUID [1-9]\d* 1,3 1:2\]`, r.tagged) {
				return fail(r, "want OK [COPYUID validity 1,3 1:2]")
			}
			return nil
		}},
		{name: "UID EXPUNGE keeps \\Deleted messages outside its set", rfc: "RFC 4315 §2.1", run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			c.do(`STORE 1:3 +FLAGS.SILENT (\Deleted)`)
			r := c.do("UID EXPUNGE 1:2")
			if len(r.all(`^\* \d+ EXPUNGE$`)) != 2 {
				return fail(r, "want two * n EXPUNGE")
			}
			c.do("UNSELECT")
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 1 {
				return fail(r, "want MESSAGES 1 (UID 3 kept)")
			}
			return nil
		}},
	}}
}
