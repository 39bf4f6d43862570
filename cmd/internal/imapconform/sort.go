package main

// SORT and ESORT: RFC 5256 §3, RFC 5267 §3.
func sortGroup() group {
	sorted := func(cmd, want string) func(e *env) error {
		return func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do(cmd)
			if !r.has(`^\* SORT` + want + `$`) {
				return fail(r, "want * SORT%s", want)
			}
			return must(r, "SORT")
		}
	}
	return group{name: "sort", needs: []string{"SORT"}, checks: []check{
		{name: "SORT (SUBJECT) sorts by base subject (Re:, Fwd: removed), ties in mailbox order", rfc: "RFC 5256 §2.1, §3", run: sorted("SORT (SUBJECT) UTF-8 ALL", " 1 2 4 3 5")},
		{name: "SORT (DATE) sorts by the Date field", rfc: "RFC 5256 §3 (DATE)", run: sorted("SORT (DATE) UTF-8 ALL", " 1 3 2 4 5")},
		{name: "SORT (REVERSE DATE)", rfc: "RFC 5256 §3 (REVERSE)", run: sorted("SORT (REVERSE DATE) UTF-8 ALL", " 5 4 2 3 1")},
		{name: "SORT (FROM) sorts by the first From address's mailbox", rfc: "RFC 5256 §3 (FROM)", run: sorted("SORT (FROM) UTF-8 ALL", " 2 3 4 5 1")},
		{name: "SORT (SUBJECT REVERSE DATE) with search criteria", rfc: "RFC 5256 §3", run: sorted("SORT (SUBJECT REVERSE DATE) UTF-8 NOT FROM zed", " 4 2 5 3")},
		{name: "UID SORT answers UIDs", rfc: "RFC 5256 §3", run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`)
			c.do("EXPUNGE")
			r := c.do("UID SORT (DATE) UTF-8 ALL")
			if !r.has(`^\* SORT 3 2 4 5$`) {
				return fail(r, "want * SORT 3 2 4 5 (UIDs)")
			}
			return must(r, "UID SORT")
		}},
		{name: "SORT with an unknown charset: NO [BADCHARSET]", rfc: "RFC 5256 §3", run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do("SORT (DATE) X-NO-SUCH-CHARSET ALL")
			if r.status != "NO" || !regexpMatch(`(?i)\[BADCHARSET`, r.tagged) {
				return fail(r, "want NO [BADCHARSET]")
			}
			return nil
		}},
		{name: "SORT with an unknown sort key: BAD", rfc: "RFC 5256 §5 (sort-key)", run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do("SORT (XYZZY) UTF-8 ALL")
			if r.status != "BAD" {
				return fail(r, "want BAD, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "SORT RETURN (MIN MAX COUNT) answers * ESEARCH with the first and last in sort order", rfc: "RFC 5267 §3.2, RFC 4731 §3.1", needs: []string{"ESORT"}, run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do("SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL")
			t := r.cmd[:4]
			if !r.has(`^\* ESEARCH \(TAG "` + t + `"\) MIN 1 MAX 5 COUNT 5$`) {
				return fail(r, `want * ESEARCH (TAG "%s") MIN 1 MAX 5 COUNT 5`, t)
			}
			r2 := c.do("SORT RETURN (MIN MAX) (REVERSE DATE) UTF-8 ALL")
			t2 := r2.cmd[:4]
			if !r2.has(`^\* ESEARCH \(TAG "` + t2 + `"\) MIN 5 MAX 1$`) {
				return fail(r2, `want * ESEARCH (TAG "%s") MIN 5 MAX 1 (first and last in sort order)`, t2)
			}
			return must(r2, "SORT RETURN")
		}},
		{name: "SORT RETURN (ALL) keeps the sort order", rfc: "RFC 5267 §3.2", needs: []string{"ESORT"}, run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do("SORT RETURN (ALL) (DATE) UTF-8 ALL")
			t := r.cmd[:4]
			if esearchAll(r, t) != "[1 3 2 4 5]" {
				return fail(r, `want * ESEARCH (TAG "%s") ALL 1,3,2,4:5`, t)
			}
			return must(r, "SORT RETURN (ALL)")
		}},
	}}
}
