package main

// ID: RFC 2971.
func idGroup() group {
	return group{name: "id", needs: []string{"ID"}, checks: []check{
		{name: "ID with client fields answers one * ID and OK", rfc: "RFC 2971 §3.1, §3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do(`ID ("name" "imapconform" "version" "1")`)
			if len(r.all(`^\* ID (NIL|\(.*\))$`)) != 1 {
				return fail(r, "want exactly one * ID (...) or * ID NIL")
			}
			return must(r, "ID")
		}},
		{name: "ID NIL before login is answered too", rfc: "RFC 2971 §3.1 (any state)", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("ID NIL")
			if !r.has(`^\* ID (NIL|\(.*\))$`) {
				return fail(r, "want * ID")
			}
			if err := must(r, "ID NIL"); err != nil {
				return err
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "ID with a malformed list: BAD, connection kept", rfc: "RFC 2971 §4 (id_params_list), RFC 3501 §7.1.3",
			exempt: "Dovecot 2.3 parses ID leniently and answers OK to an odd-length list; RFC 2971 §4 requires string SP nstring pairs", run: func(e *env) error {
				c, err := e.login()
				if err != nil {
					return err
				}
				r := c.do(`ID ("name")`)
				if r.status != "BAD" {
					return fail(r, "want BAD for an odd number of strings, got %s", orNone(r.status))
				}
				return must(c.do("NOOP"), "NOOP afterwards")
			}},
	}}
}
