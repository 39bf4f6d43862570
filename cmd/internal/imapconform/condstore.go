package main

import "strings"

// CONDSTORE: RFC 7162 §3.1.
func condstoreGroup() group {
	return group{name: "condstore", needs: []string{"CONDSTORE"}, checks: []check{
		{name: "SELECT (CONDSTORE) answers * OK [HIGHESTMODSEQ n]", rfc: "RFC 7162 §3.1.8, §3.1.2.1", run: func(e *env) error {
			_, _, r, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain)
			if err != nil {
				return err
			}
			if highestModseq(r) < 1 {
				return fail(r, "want * OK [HIGHESTMODSEQ n] with n >= 1")
			}
			return nil
		}},
		{name: "ENABLE CONDSTORE answers * ENABLED CONDSTORE", rfc: "RFC 7162 §3.1, RFC 5161 §3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("ENABLE CONDSTORE")
			if !r.has(`^\* ENABLED .*\bCONDSTORE\b`) {
				return fail(r, "want * ENABLED CONDSTORE")
			}
			return must(r, "ENABLE")
		}},
		{name: "FETCH MODSEQ gives every message a mod-sequence no higher than HIGHESTMODSEQ", rfc: "RFC 7162 §3.1.4.2, §3.1.2.1", run: func(e *env) error {
			c, _, sel, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain, msgGroups)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			r := c.do("FETCH 1:2 (MODSEQ)")
			for seq := 1; seq <= 2; seq++ {
				if m := modseqOf(r, seq); m < 1 || m > h {
					return fail(r, "want * %d FETCH (MODSEQ (m)) with 1 <= m <= %d", seq, h)
				}
			}
			return must(r, "FETCH MODSEQ")
		}},
		{name: "STORE raises the message's MODSEQ above the old HIGHESTMODSEQ and reports it", rfc: "RFC 7162 §3.1.3, §3.1", run: func(e *env) error {
			c, _, sel, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			r := c.do(`STORE 1 +FLAGS (\Flagged)`)
			// CONDSTORE is enabled (SELECT's parameter): the untagged
			// FETCH carries MODSEQ.
			if m := modseqOf(r, 1); m <= h {
				return fail(r, "want * 1 FETCH (... MODSEQ (m)) with m > %d", h)
			}
			return must(r, "STORE")
		}},
		{name: "FETCH (CHANGEDSINCE n) returns only messages changed after n, with MODSEQ", rfc: "RFC 7162 §3.1.4.1", run: func(e *env) error {
			c, _, sel, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			if err := must(c.do(`STORE 2 +FLAGS.SILENT (\Seen)`), "STORE"); err != nil {
				return err
			}
			r := c.do("FETCH 1:* (FLAGS) (CHANGEDSINCE " + i64(h) + ")")
			if len(r.all(`^\* \d+ FETCH`)) != 1 || modseqOf(r, 2) <= h {
				return fail(r, "want only * 2 FETCH (FLAGS (\\Seen) MODSEQ (m > %d))", h)
			}
			return must(r, "FETCH CHANGEDSINCE")
		}},
		{name: "STORE (UNCHANGEDSINCE n) skips messages changed after n and answers [MODIFIED set]", rfc: "RFC 7162 §3.1.3", run: func(e *env) error {
			c, _, _, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain, msgGroups)
			if err != nil {
				return err
			}
			f := c.do("FETCH 1:2 (MODSEQ)")
			n := max(modseqOf(f, 1), modseqOf(f, 2))
			if n < 1 {
				return fail(f, "no MODSEQ in FETCH")
			}
			if err := must(c.do(`STORE 2 +FLAGS.SILENT (\Flagged)`), "STORE"); err != nil {
				return err
			}
			r := c.do(`STORE 1:2 (UNCHANGEDSINCE ` + i64(n) + `) +FLAGS.SILENT (\Answered)`)
			if r.status != "OK" || !regexpMatch(`(?i)\[MODIFIED 2\]`, r.tagged) {
				return fail(r, "want OK [MODIFIED 2]")
			}
			r2 := c.do("FETCH 1:2 (FLAGS)")
			if !strings.Contains(r2.find(`^\* 1 FETCH`), `\Answered`) || strings.Contains(r2.find(`^\* 2 FETCH`), `\Answered`) {
				return fail(r2, `want \Answered on 1 only`)
			}
			return nil
		}},
		{name: "STORE (UNCHANGEDSINCE 0) always fails: [MODIFIED], nothing stored", rfc: "RFC 7162 §3.1.3", run: func(e *env) error {
			c, _, _, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain)
			if err != nil {
				return err
			}
			r := c.do(`STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\Flagged)`)
			if (r.status != "OK" && r.status != "NO") || !regexpMatch(`(?i)\[MODIFIED 1\]`, r.tagged) {
				return fail(r, "want [MODIFIED 1] in the tagged response")
			}
			if r2 := c.do("FETCH 1 (FLAGS)"); r2.has(`\\Flagged`) {
				return fail(r2, `\Flagged was stored`)
			}
			return nil
		}},
		{name: "STATUS (HIGHESTMODSEQ) equals SELECT's HIGHESTMODSEQ", rfc: "RFC 7162 §3.1.7", run: func(e *env) error {
			c, box, sel, err := e.selectedWith("EXAMINE BOX (CONDSTORE)", msgPlain, msgGroups)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			c.do("UNSELECT")
			r := c.do("STATUS " + box + " (HIGHESTMODSEQ)")
			if got := statusItem(r, "HIGHESTMODSEQ"); got != int(h) || h < 1 {
				return fail(r, "want HIGHESTMODSEQ %d", h)
			}
			return must(r, "STATUS")
		}},
		{name: "SEARCH MODSEQ n finds messages changed since n and reports the highest (MODSEQ m)", rfc: "RFC 7162 §3.1.5, §3.1.6", run: func(e *env) error {
			c, _, sel, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			st := c.do(`STORE 3 +FLAGS (\Flagged)`)
			m := modseqOf(st, 3)
			r := c.do("SEARCH MODSEQ " + i64(h+1))
			if !r.has(`^\* SEARCH 3 \(MODSEQ ` + i64(m) + `\)$`) {
				return fail(r, "want * SEARCH 3 (MODSEQ %d)", m)
			}
			return must(r, "SEARCH MODSEQ")
		}},
		{name: "a flag change by another session arrives with MODSEQ once CONDSTORE is enabled", rfc: "RFC 7162 §3.1, §3.1.4", run: func(e *env) error {
			a, box, sel, err := e.selectedWith("SELECT BOX (CONDSTORE)", msgPlain)
			if err != nil {
				return err
			}
			h := highestModseq(sel)
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			if err := must(b.do(`STORE 1 +FLAGS.SILENT (\Seen)`), "STORE by the other session"); err != nil {
				return err
			}
			r := a.do("NOOP")
			if !r.has(`^\* 1 FETCH .*\\Seen`) || modseqOf(r, 1) <= h {
				return fail(r, "want * 1 FETCH (FLAGS (\\Seen) MODSEQ (m > %d))", h)
			}
			return nil
		}},
	}}
}

func i64(n int64) string { return itoa(int(n)) }
