package main

import "regexp"

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// ESEARCH and SEARCHRES: RFC 4731 §3, RFC 5182 §2.
func esearchGroup() group {
	// esearch selects msgPlain, msgGroups, msgEncoded and runs cmd; want
	// is what follows (TAG "...") in the ESEARCH response.
	esearch := func(cmd, want string) func(e *env) error {
		return func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			r := c.do(cmd)
			t := r.cmd[:4]
			if !r.has(`^\* ESEARCH \(TAG "` + t + `"\)` + regexpQuote(want) + `$`) {
				return fail(r, `want * ESEARCH (TAG "%s")%s`, t, want)
			}
			if r.has(`^\* SEARCH`) {
				return fail(r, "* SEARCH sent as well")
			}
			return must(r, "SEARCH RETURN")
		}
	}
	return group{name: "esearch", needs: []string{"ESEARCH"}, checks: []check{
		{name: "SEARCH RETURN (MIN MAX COUNT)", rfc: "RFC 4731 §3.1", run: esearch("SEARCH RETURN (MIN MAX COUNT) ALL", " MIN 1 MAX 3 COUNT 3")},
		{name: "SEARCH RETURN () means ALL", rfc: "RFC 4731 §3.1", run: esearch("SEARCH RETURN () ALL", " ALL 1:3")},
		{name: "UID SEARCH RETURN (ALL) answers UIDs with the UID indicator", rfc: "RFC 4731 §3.1, §3.2", run: esearch("UID SEARCH RETURN (ALL) 2:3", " UID ALL 2:3")},
		{name: "no match: MIN, MAX, ALL left out, COUNT 0", rfc: "RFC 4731 §3.1", run: esearch(`SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT "no-such-subject"`, " COUNT 0")},
		{name: "SEARCH RETURN (SAVE) then FETCH $ uses the saved result", rfc: "RFC 5182 §2.1, §2.2; RFC 9051 §6.4.4 (example A282: SAVE alone, no ESEARCH)", needs: []string{"SEARCHRES"}, run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			r := c.do("SEARCH RETURN (SAVE) SUBJECT groups")
			if r.has(`^\* (E?SEARCH)`) {
				return fail(r, "RETURN (SAVE) alone answers no SEARCH or ESEARCH")
			}
			if err := must(r, "SEARCH RETURN (SAVE)"); err != nil {
				return err
			}
			r = c.do("FETCH $ (UID)")
			if len(r.all(`^\* \d+ FETCH`)) != 1 || !r.has(`^\* 2 FETCH \(UID 2\)$`) {
				return fail(r, "want only * 2 FETCH (UID 2)")
			}
			return must(r, "FETCH $")
		}},
	}}
}
