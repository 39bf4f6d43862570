package main

import "strings"

// QRESYNC: RFC 7162 §3.2.
func qresyncGroup() group {
	// qlogin logs in and enables QRESYNC.
	qlogin := func(e *env) (*conn, error) {
		c, err := e.login()
		if err != nil {
			return nil, err
		}
		if err := must(c.do("ENABLE QRESYNC"), "ENABLE QRESYNC"); err != nil {
			return nil, err
		}
		return c, nil
	}
	// expungeUID2 has a session of its own expunge UID 2 of box.
	expungeUID2 := func(e *env, box string) error {
		b, err := e.login()
		if err != nil {
			return err
		}
		if err := must(b.do("SELECT "+box), "SELECT by the other session"); err != nil {
			return err
		}
		b.do(`UID STORE 2 +FLAGS.SILENT (\Deleted)`)
		return must(b.do("UID EXPUNGE 2"), "UID EXPUNGE by the other session")
	}
	return group{name: "qresync", needs: []string{"QRESYNC"}, checks: []check{
		{name: "ENABLE QRESYNC answers * ENABLED QRESYNC", rfc: "RFC 7162 §3.2.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("ENABLE QRESYNC")
			if !r.has(`^\* ENABLED .*\bQRESYNC\b`) {
				return fail(r, "want * ENABLED QRESYNC")
			}
			return must(r, "ENABLE")
		}},
		{name: "a client that reconnects after another session expunged gets * VANISHED (EARLIER) and the changed flags", rfc: "RFC 7162 §3.2.5, §3.2.5.1, §3.2.10", run: func(e *env) error {
			a, err := qlogin(e)
			if err != nil {
				return err
			}
			box, err := e.fresh(a, msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			sel := a.do("SELECT " + box)
			v, h := number(sel.find(`^\* OK \[UIDVALIDITY `), `UIDVALIDITY `), highestModseq(sel)
			if v < 1 || h < 1 {
				return fail(sel, "want UIDVALIDITY and HIGHESTMODSEQ after ENABLE QRESYNC")
			}
			a.do("LOGOUT")
			if err := expungeUID2(e, box); err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			b.do(`UID STORE 3 +FLAGS.SILENT (\Flagged)`)
			c, err := qlogin(e)
			if err != nil {
				return err
			}
			r := c.do("SELECT " + box + " (QRESYNC (" + i64(v) + " " + i64(h) + " 1:3))")
			if !r.has(`^\* VANISHED \(EARLIER\) 2$`) {
				return fail(r, "want * VANISHED (EARLIER) 2")
			}
			u := r.find(`^\* \d+ FETCH \(.*\bUID 3\b`)
			if !strings.Contains(u, `\Flagged`) || !strings.Contains(strings.ToUpper(u), "MODSEQ") {
				return fail(r, `want * 2 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (...))`)
			}
			if r.has(`^\* \d+ FETCH \(.*\bUID 1\b`) {
				return fail(r, "UID 1 did not change but was sent")
			}
			return must(r, "SELECT (QRESYNC)")
		}},
		{name: "an expunge by another session arrives as * VANISHED, not * n EXPUNGE", rfc: "RFC 7162 §3.2.10, §3.2.4", run: func(e *env) error {
			a, err := qlogin(e)
			if err != nil {
				return err
			}
			box, err := e.fresh(a, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			a.do("SELECT " + box)
			if err := expungeUID2(e, box); err != nil {
				return err
			}
			r := a.do("NOOP")
			if !r.has(`^\* VANISHED 2$`) || r.has(`EXPUNGE$`) {
				return fail(r, "want * VANISHED 2 and no * n EXPUNGE")
			}
			return nil
		}},
		{name: "EXPUNGE answers * VANISHED once QRESYNC is enabled", rfc: "RFC 7162 §3.2.7", run: func(e *env) error {
			c, err := qlogin(e)
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do("SELECT " + box)
			c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`)
			r := c.do("EXPUNGE")
			if !r.has(`^\* VANISHED 1$`) || r.has(`EXPUNGE$`) {
				return fail(r, "want * VANISHED 1 and no * n EXPUNGE")
			}
			return must(r, "EXPUNGE")
		}},
		{name: "UID FETCH (CHANGEDSINCE n VANISHED) reports expunged UIDs as * VANISHED (EARLIER)", rfc: "RFC 7162 §3.2.6", run: func(e *env) error {
			a, err := qlogin(e)
			if err != nil {
				return err
			}
			box, err := e.fresh(a, msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			sel := a.do("SELECT " + box)
			h := highestModseq(sel)
			if err := expungeUID2(e, box); err != nil {
				return err
			}
			a.do(`UID STORE 3 +FLAGS.SILENT (\Seen)`)
			a.do("NOOP") // takes in the VANISHED 2
			r := a.do("UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + i64(h) + " VANISHED)")
			if !r.has(`^\* VANISHED \(EARLIER\) 2$`) {
				return fail(r, "want * VANISHED (EARLIER) 2")
			}
			if len(r.all(`^\* \d+ FETCH`)) != 1 || !r.has(`^\* 2 FETCH \(.*\bUID 3\b`) {
				return fail(r, "want one FETCH, for UID 3")
			}
			return must(r, "UID FETCH (CHANGEDSINCE VANISHED)")
		}},
		{name: "SELECT (QRESYNC) with a wrong UIDVALIDITY sends no VANISHED and no FETCH", rfc: "RFC 7162 §3.2.5.1", run: func(e *env) error {
			c, err := qlogin(e)
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			r := c.do("SELECT " + box + " (QRESYNC (1 1))")
			if r.has(`^\* VANISHED`) || r.has(`^\* \d+ FETCH`) {
				return fail(r, "VANISHED or FETCH for a UIDVALIDITY that does not match")
			}
			return must(r, "SELECT (QRESYNC)")
		}},
		{name: "SELECT (QRESYNC ...) without ENABLE QRESYNC: BAD", rfc: "RFC 7162 §3.2.5", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			r := c.do("SELECT " + box + " (QRESYNC (1 1))")
			if r.status != "BAD" {
				return fail(r, "want BAD, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
	}}
}
