package main

// UNSELECT: RFC 3691.
func unselectGroup() group {
	return group{name: "unselect", needs: []string{"UNSELECT"}, checks: []check{
		{name: "UNSELECT with no mailbox selected is refused, connection kept", rfc: "RFC 3691 §2 (valid in the selected state)", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("UNSELECT")
			if r.status != "BAD" && r.status != "NO" {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "UNSELECT sends no EXPUNGE and returns to the authenticated state", rfc: "RFC 3691 §2", run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do(`STORE 1:2 +FLAGS.SILENT (\Deleted)`)
			r := c.do("UNSELECT")
			if r.has(`EXPUNGE`) {
				return fail(r, "EXPUNGE sent")
			}
			if err := must(r, "UNSELECT"); err != nil {
				return err
			}
			if r := c.do("FETCH 1 FLAGS"); r.status == "OK" {
				return fail(r, "FETCH worked after UNSELECT")
			}
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 2 {
				return fail(r, "want MESSAGES 2")
			}
			return nil
		}},
		{name: "UNSELECT after EXAMINE", rfc: "RFC 3691 §2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			c.do("EXAMINE " + box)
			return must(c.do("UNSELECT"), "UNSELECT")
		}},
	}}
}
