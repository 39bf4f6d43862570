package main

// THREAD: RFC 5256 §4 (ORDEREDSUBJECT, REFERENCES), on msgThread.
func threadGroup() group {
	threads := func(cmd, want string) func(e *env) error {
		return func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do(cmd)
			if !r.has(`^\* THREAD ` + regexpQuote(want) + `$`) {
				return fail(r, "want * THREAD %s", want)
			}
			return must(r, "THREAD")
		}
	}
	return group{name: "thread", checks: []check{
		{name: "THREAD=ORDEREDSUBJECT groups by base subject, first message the parent, threads by date", rfc: "RFC 5256 §4 (ORDEREDSUBJECT), §5 (thread-nested is 2*thread-list: one child is \"3 5\")", needs: []string{"THREAD=ORDEREDSUBJECT"},
			run: threads("THREAD ORDEREDSUBJECT UTF-8 ALL", "(1 (2)(4))(3 5)")},
		{name: "THREAD=REFERENCES links replies by References and In-Reply-To", rfc: "RFC 5256 §4 (REFERENCES)", needs: []string{"THREAD=REFERENCES"},
			run: threads("THREAD REFERENCES UTF-8 ALL", "(1 2 4)(3 5)")},
		{name: "THREAD REFERENCES with search criteria threads only the matches", rfc: "RFC 5256 §4", needs: []string{"THREAD=REFERENCES"},
			run: threads("THREAD REFERENCES UTF-8 NOT FROM amy", "(1 4)(3 5)")},
		{name: "UID THREAD answers UIDs", rfc: "RFC 5256 §4", needs: []string{"THREAD=REFERENCES"}, run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			c.do(`STORE 3 +FLAGS.SILENT (\Deleted)`)
			c.do("EXPUNGE")
			r := c.do("UID THREAD REFERENCES UTF-8 ALL")
			if !r.has(`^\* THREAD \(1 2 4\)\(5\)$`) {
				return fail(r, "want * THREAD (1 2 4)(5) (UIDs)")
			}
			return must(r, "UID THREAD")
		}},
		{name: "THREAD with an unknown algorithm: BAD or NO", rfc: "RFC 5256 §4", needs: []string{"THREAD=REFERENCES"}, run: func(e *env) error {
			c, _, err := e.selected(msgThread...)
			if err != nil {
				return err
			}
			r := c.do("THREAD XYZZY UTF-8 ALL")
			if r.status != "BAD" && r.status != "NO" {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
	}}
}
