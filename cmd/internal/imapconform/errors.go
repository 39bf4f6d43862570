package main

import "strings"

// Errors: RFC 3501 §7.1.3 (BAD), §7.1.5 (BYE), §9; RFC 5530 §3
// (SERVERBUG).
func errorsGroup() group {
	bad := func(cmd string, selected bool) func(e *env) error {
		return func(e *env) error {
			var c *conn
			var err error
			if selected {
				c, _, err = e.selected(msgPlain)
			} else {
				c, err = e.login()
			}
			if err != nil {
				return err
			}
			r := c.do(cmd)
			if r.status != "BAD" || strings.Contains(strings.ToUpper(r.tagged), "SERVERBUG") {
				return fail(r, "want BAD (no SERVERBUG), got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards (connection must stay usable)")
		}
	}
	return group{name: "errors", checks: []check{
		{name: "unknown command: BAD, never BYE", rfc: "RFC 3501 §7.1.3, §7.1.5", run: bad("XYZZY", false)},
		{name: "unknown command before login: BAD, never BYE", rfc: "RFC 3501 §7.1.3, §7.1.5", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("XYZZY foo")
			if r.status != "BAD" {
				return fail(r, "want BAD, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "unknown command in the selected state: BAD, never BYE", rfc: "RFC 3501 §7.1.3, §7.1.5", run: bad("XYZZY 1", true)},
		{name: "UID with an unknown command: BAD", rfc: "RFC 3501 §6.4.8, §9", run: bad("UID XYZZY 1", true)},
		{name: "SEARCH with an unclosed parenthesis: BAD", rfc: "RFC 3501 §6.4.4, §9", run: bad("SEARCH (SEEN", true)},
		{name: "a tag with no command: BAD", rfc: "RFC 3501 §7.1.3, §9 (command = tag SP ...)", run: bad("", false)},
		{name: "unclosed parenthesis: BAD", rfc: "RFC 3501 §7.1.3, §9", run: bad("FETCH 1 (FLAGS", true)},
		{name: "FETCH 0: BAD (nz-number)", rfc: "RFC 3501 §9 (seq-number = nz-number / \"*\")", run: bad("FETCH 0 FLAGS", true)},
		{name: "unknown FETCH item: BAD", rfc: "RFC 3501 §6.4.5, §9", run: bad("FETCH 1 (FLAGS XYZZY)", true)},
		{name: "unknown SEARCH key: BAD", rfc: "RFC 3501 §6.4.4, §9", run: bad("SEARCH XYZZY", true)},
		{name: "STORE with an unknown data item: BAD", rfc: "RFC 3501 §6.4.6, §9", run: bad(`STORE 1 XFLAGS (\Seen)`, true)},
		{name: "SELECT without a mailbox name: BAD", rfc: "RFC 3501 §6.3.1, §9", run: bad("SELECT", false)},
		{name: "LOGIN in the authenticated state is refused, not BYE", rfc: "RFC 3501 §6.2.3, §3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("LOGIN " + quote(e.t.user) + " " + quote(e.t.pass))
			if r.status == "OK" || r.status == "BYE" || strings.Contains(strings.ToUpper(r.tagged), "SERVERBUG") {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "mailbox name that is not modified UTF-7: refused", rfc: "RFC 3501 §5.1.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("CREATE " + e.box() + "-&Jjo")
			if r.status == "OK" || strings.Contains(strings.ToUpper(r.tagged), "SERVERBUG") {
				return fail(r, "want NO or BAD (no SERVERBUG), got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "FETCH in the authenticated state is refused, connection kept", rfc: "RFC 3501 §6.4", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("FETCH 1 FLAGS")
			if r.status == "OK" || r.status == "BYE" || strings.Contains(strings.ToUpper(r.tagged), "SERVERBUG") {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
		{name: "FETCH beyond the last message: BAD or NO, no SERVERBUG", rfc: "RFC 3501 §6.4.5, §9", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do("FETCH 5 FLAGS")
			if r.status == "BYE" || strings.Contains(strings.ToUpper(r.tagged), "SERVERBUG") {
				return fail(r, "want BAD, NO or OK; got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
	}}
}
