package main

import "strings"

// MOVE: RFC 6851.
func moveGroup() group {
	return group{name: "move", needs: []string{"MOVE"}, checks: []check{
		{name: "UID MOVE: COPYUID in an untagged OK before the EXPUNGE, flags kept", rfc: "RFC 6851 §3.3, §4.3", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			dst, err := e.fresh(c)
			if err != nil {
				return err
			}
			c.do(`STORE 2 +FLAGS.SILENT (\Flagged cfMoveKw)`)
			r := c.do("UID MOVE 2 " + dst)
			if err := must(r, "UID MOVE"); err != nil {
				return err
			}
			cu, ex := index(r, `^\* OK \[COPYUID [1-9]\d* 2 1\]`), index(r, `^\* 2 EXPUNGE$`)
			if ex < 0 {
				return fail(r, "want * 2 EXPUNGE")
			}
			if e.t.caps["UIDPLUS"] && (cu < 0 || cu > ex) {
				return fail(r, "want * OK [COPYUID validity 2 1] before * 2 EXPUNGE")
			}
			c.do("SELECT " + dst)
			f := c.do("FETCH 1 (FLAGS)")
			if u := f.find(`^\* 1 FETCH`); !strings.Contains(u, `\Flagged`) || !strings.Contains(u, "cfMoveKw") {
				return fail(f, `want \Flagged and cfMoveKw on the moved message`)
			}
			return nil
		}},
		{name: "MOVE to a missing mailbox: NO [TRYCREATE], nothing removed", rfc: "RFC 6851 §3.3, RFC 3501 §6.4.7", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do("MOVE 1 " + e.box())
			if r.status != "NO" || !regexpMatch(`(?i)^\S+ NO \[TRYCREATE\]`, r.tagged) || r.has(`EXPUNGE`) {
				return fail(r, "want NO [TRYCREATE] and no EXPUNGE")
			}
			if r := c.do("FETCH 1 (UID)"); !r.has(`^\* 1 FETCH`) {
				return fail(r, "message 1 is gone")
			}
			return nil
		}},
		{name: "MOVE in a mailbox opened by EXAMINE is refused", rfc: "RFC 6851 §3.3, RFC 3501 §6.3.2",
			exempt: "Dovecot 2.3 moves out of a mailbox opened by EXAMINE and expunges there; RFC 3501 §6.3.2 allows no change to a read-only mailbox's permanent state, and a MOVE is a COPY plus an EXPUNGE (RFC 6851 §3.3)", run: func(e *env) error {
				c, err := e.login()
				if err != nil {
					return err
				}
				box, err := e.fresh(c, msgPlain)
				if err != nil {
					return err
				}
				dst, err := e.fresh(c)
				if err != nil {
					return err
				}
				c.do("EXAMINE " + box)
				r := c.do("MOVE 1 " + dst)
				if r.status == "OK" || r.status == "BYE" || r.has("EXPUNGE") {
					return fail(r, "want NO (or BAD), got %s", orNone(r.status))
				}
				return nil
			}},
	}}
}
