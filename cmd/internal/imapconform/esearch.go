package main

import (
	"fmt"
	"regexp"
	"strings"
)

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

// expandSet lists the numbers of a sequence set ("1:3,5" is 1 2 3 5),
// in the order written; nil if it is not one. RFC 3501 §9 (sequence-set)
func expandSet(set string) []int {
	var out []int
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, b := atoi(lo), atoi(hi)
		if !isRange {
			b = a
		}
		if a < 1 || b < 1 || len(out)+max(a-b, b-a) > 100000 {
			return nil
		}
		for n := a; ; {
			out = append(out, n)
			if n == b {
				break
			}
			if a < b {
				n++
			} else {
				n--
			}
		}
	}
	return out
}

// esearchAll returns the numbers of the ALL item of the ESEARCH response
// to tag, in order ("" if there is none).
func esearchAll(r *resp, tag string) string {
	m := regexp.MustCompile(`(?i)^\* ESEARCH \(TAG "` + tag + `"\)(?: UID)? .*\bALL ([0-9:,]+)`).FindStringSubmatch(r.find(`^\* ESEARCH \(TAG "` + tag + `"\)`))
	if m == nil {
		return ""
	}
	return fmt.Sprint(expandSet(m[1]))
}

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
		{name: "SEARCH RETURN () means ALL", rfc: "RFC 4731 §3.1", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			r := c.do("SEARCH RETURN () ALL")
			if got := esearchAll(r, r.cmd[:4]); got != "[1 2 3]" || r.has(`^\* SEARCH`) {
				return fail(r, `want only * ESEARCH (TAG "%s") ALL 1:3`, r.cmd[:4])
			}
			return must(r, "SEARCH RETURN ()")
		}},
		{name: "UID SEARCH RETURN (ALL) answers UIDs with the UID indicator", rfc: "RFC 4731 §3.1, §3.2", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			r := c.do("UID SEARCH RETURN (ALL) 2:3")
			if got := esearchAll(r, r.cmd[:4]); got != "[2 3]" || !r.has(`^\* ESEARCH \(TAG "[^"]+"\) UID ALL `) {
				return fail(r, `want * ESEARCH (TAG "%s") UID ALL 2:3`, r.cmd[:4])
			}
			return must(r, "UID SEARCH RETURN (ALL)")
		}},
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
