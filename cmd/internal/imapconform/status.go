package main

// STATUS: RFC 3501 §6.3.10, §7.2.4.
func statusGroup() group {
	return group{name: "status", checks: []check{
		{name: "STATUS MESSAGES UNSEEN UIDNEXT UIDVALIDITY", rfc: "RFC 3501 §6.3.10", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			if err := must(c.withLiteral("APPEND "+box+` (\Seen) `, []byte(msgEncoded), ""), "APPEND"); err != nil {
				return err
			}
			r := c.do("STATUS " + box + " (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
			if statusItem(r, "MESSAGES") != 3 || statusItem(r, "UNSEEN") != 2 || statusItem(r, "UIDNEXT") < 4 || statusItem(r, "UIDVALIDITY") < 1 {
				return fail(r, "want MESSAGES 3 UNSEEN 2 UIDNEXT >= 4 UIDVALIDITY > 0")
			}
			return must(r, "STATUS")
		}},
		{name: "STATUS RECENT counts appended messages no session has seen", rfc: "RFC 3501 §6.3.10, §2.3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			if r := c.do("STATUS " + box + " (RECENT)"); statusItem(r, "RECENT") != 2 {
				return fail(r, "want RECENT 2")
			}
			return nil
		}},
		{name: "STATUS of a missing mailbox: NO", rfc: "RFC 3501 §6.3.10", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if r := c.do("STATUS " + e.box() + " (MESSAGES)"); r.status != "NO" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return nil
		}},
		{name: "STATUS with an unknown item: BAD", rfc: "RFC 3501 §6.3.10, §9 (status-att)", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			if r := c.do("STATUS " + box + " (MESSAGES FROBS)"); r.status != "BAD" {
				return fail(r, "want BAD, got %s", orNone(r.status))
			}
			return nil
		}},
	}}
}
