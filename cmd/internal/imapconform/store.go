package main

import (
	"regexp"
	"strings"
)

// index returns the position of the first untagged response matching
// pattern, -1 if none.
func index(r *resp, pattern string) int {
	re := regexp.MustCompile("(?is)" + pattern)
	for i, u := range r.untagged {
		if re.MatchString(u) {
			return i
		}
	}
	return -1
}

// STORE, flags and keywords: RFC 3501 §6.4.6, §2.3.2, §7.2.6.
func storeGroup() group {
	return group{name: "store", checks: []check{
		{name: "STORE +FLAGS answers with the new FLAGS", rfc: "RFC 3501 §6.4.6", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do(`STORE 1 +FLAGS (\Flagged)`)
			if !r.has(`^\* 1 FETCH \(.*FLAGS \([^)]*\\Flagged`) {
				return fail(r, `want * 1 FETCH (FLAGS (\Flagged ...))`)
			}
			return must(r, "STORE")
		}},
		{name: "STORE -FLAGS removes a flag", rfc: "RFC 3501 §6.4.6", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			c.do(`STORE 1 +FLAGS (\Flagged \Seen)`)
			r := c.do(`STORE 1 -FLAGS (\Flagged)`)
			u := r.find(`^\* 1 FETCH`)
			if strings.Contains(u, `\Flagged`) || !strings.Contains(u, `\Seen`) {
				return fail(r, `want FLAGS with \Seen and without \Flagged`)
			}
			return nil
		}},
		{name: "STORE FLAGS.SILENT sends no FETCH for the change", rfc: "RFC 3501 §6.4.6", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do(`STORE 1 +FLAGS.SILENT (\Answered)`)
			if r.has(`^\* 1 FETCH`) {
				return fail(r, "FETCH sent despite .SILENT")
			}
			if r := c.do("FETCH 1 FLAGS"); !strings.Contains(r.find(`^\* 1 FETCH`), `\Answered`) {
				return fail(r, `\Answered not stored`)
			}
			return nil
		}},
		{name: "a new keyword appears in FLAGS (and PERMANENTFLAGS) before any FETCH shows it", rfc: "RFC 3501 §7.2.6, §7.1 (PERMANENTFLAGS)", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do(`STORE 1 +FLAGS (cfNewKw)`)
			f, p, x := index(r, `^\* FLAGS \(.*\bcfNewKw\b`), index(r, `^\* OK \[PERMANENTFLAGS \(.*(\bcfNewKw\b|\\\*)`), index(r, `^\* 1 FETCH .*\bcfNewKw\b`)
			if f < 0 || x < 0 || f > x {
				return fail(r, "want * FLAGS with cfNewKw before * 1 FETCH with it")
			}
			if p >= 0 && p > x {
				return fail(r, "PERMANENTFLAGS update after the FETCH")
			}
			return nil
		}},
		{name: "another session learns a new keyword by FLAGS before its FETCH", rfc: "RFC 3501 §7.2.6, §5.2", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			if err := must(b.do(`STORE 1 +FLAGS.SILENT (cfOtherKw)`), "STORE by the other session"); err != nil {
				return err
			}
			r := a.do("NOOP")
			f, x := index(r, `^\* FLAGS \(.*\bcfOtherKw\b`), index(r, `^\* 1 FETCH .*\bcfOtherKw\b`)
			if f < 0 || x < 0 || f > x {
				return fail(r, "want * FLAGS with cfOtherKw before * 1 FETCH with it")
			}
			if p := index(r, `^\* OK \[PERMANENTFLAGS `); p >= 0 && p > x {
				return fail(r, "PERMANENTFLAGS update after the FETCH")
			}
			return nil
		}},
		{name: "a later SELECT lists a keyword in use in FLAGS", rfc: "RFC 3501 §6.3.1, §7.2.6", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			if err := must(a.do(`STORE 1 +FLAGS.SILENT (cfSelKw)`), "STORE"); err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			if r := b.do("SELECT " + box); !r.has(`^\* FLAGS \(.*\bcfSelKw\b`) {
				return fail(r, "want cfSelKw in * FLAGS")
			}
			return nil
		}},
		{name: "a keyword named NIL is a flag like any other", rfc: "RFC 3501 §9, RFC 9051 §9 (flag-keyword = atom; NIL is an atom, and flag-list holds flags, not nstrings)", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do(`STORE 1 +FLAGS.SILENT (NIL)`), "STORE (NIL)"); err != nil {
				return err
			}
			r := c.do("FETCH 1 FLAGS")
			if !r.has(`^\* 1 FETCH \(.*FLAGS \(([^)]* )?NIL( [^)]*)?\)`) {
				return fail(r, "want NIL in FLAGS")
			}
			if r := c.do("SEARCH KEYWORD NIL"); !r.has(`^\* SEARCH 1$`) {
				return fail(r, "want * SEARCH 1 for KEYWORD NIL")
			}
			return nil
		}},
		{name: "STORE in a mailbox opened by EXAMINE changes nothing", rfc: "RFC 3501 §6.3.2, §6.4.6", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			c.do("EXAMINE " + box)
			if r := c.do(`STORE 1 +FLAGS (\Flagged)`); r.status == "BYE" || r.has(`\\Flagged`) {
				return fail(r, "want NO (or OK with nothing stored), got %s", orNone(r.status))
			}
			if r := c.do("FETCH 1 FLAGS"); r.has(`\\Flagged`) {
				return fail(r, `\Flagged stored in a read-only mailbox`)
			}
			return nil
		}},
		{name: "a flag change by another session arrives as * n FETCH", rfc: "RFC 3501 §7.4.2, §5.2", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			b.do(`STORE 1 +FLAGS.SILENT (\Flagged)`)
			if r := a.do("NOOP"); !r.has(`^\* 1 FETCH \(.*\\Flagged`) {
				return fail(r, `want * 1 FETCH (FLAGS (\Flagged))`)
			}
			return nil
		}},
	}}
}
