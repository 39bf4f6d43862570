package main

import (
	"fmt"
	"strings"
)

// LITERAL+ and LITERAL-: RFC 7888.
func literalGroup() group {
	// nonSync sends cmd with a non-synchronising literal in one write and
	// reads its completion; a "+" continuation is a failure.
	nonSync := func(c *conn, before string, lit []byte, after string) *resp {
		t := c.tag()
		data := fmt.Sprintf("%s %s{%d+}\r\n%s%s\r\n", t, before, len(lit), lit, after)
		r := c.raw(data, t)
		r.cmd = clip(r.cmd, 120)
		return r
	}
	return group{name: "literal", checks: []check{
		{name: "APPEND with a non-synchronising literal gets no continuation", rfc: "RFC 7888 §3", needs: []string{"LITERAL+"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := nonSync(c, "APPEND "+box+" ", []byte(msgPlain), "")
			if r.has(`^\+`) {
				return fail(r, "continuation request for a {n+} literal")
			}
			return must(r, "APPEND {n+}")
		}},
		{name: "LOGIN with non-synchronising literals", rfc: "RFC 7888 §3, RFC 3501 §6.2.3", needs: []string{"LITERAL+"}, run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			t := c.tag()
			data := fmt.Sprintf("%s LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n", t, len(e.t.user), e.t.user, len(e.t.pass), e.t.pass)
			r := c.raw(data, t)
			r.cmd = t + " LOGIN {n+} user {n+} ***"
			return must(r, "LOGIN {n+}")
		}},
		{name: "pipelined APPENDs with non-synchronising literals all complete", rfc: "RFC 7888 §3, RFC 3501 §5.5", needs: []string{"LITERAL+"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			var b strings.Builder
			var last string
			for _, m := range []string{msgPlain, msgGroups, msgEncoded} {
				last = c.tag()
				fmt.Fprintf(&b, "%s APPEND %s {%d+}\r\n%s\r\n", last, box, len(m), m)
			}
			r := c.raw(b.String(), last)
			r.cmd = "(three pipelined APPENDs)"
			if len(r.all(`^C\d+ OK`)) != 2 || r.has(`^\+`) {
				return fail(r, "want OK to the first two APPENDs and no continuation")
			}
			if err := must(r, "third APPEND"); err != nil {
				return err
			}
			if st := c.do("STATUS " + box + " (MESSAGES)"); statusItem(st, "MESSAGES") != 3 {
				return fail(st, "want MESSAGES 3")
			}
			return nil
		}},
		{name: "a non-synchronising literal of 4096 octets is accepted", rfc: "RFC 7888 §4", needs: []string{"LITERAL-"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			m := msgPlain + strings.Repeat("x", 4096-len(msgPlain)-2) + "\r\n"
			r := nonSync(c, "APPEND "+box+" ", []byte(m), "")
			if r.has(`^\+`) {
				return fail(r, "continuation request for a {4096+} literal")
			}
			return must(r, "APPEND {4096+}")
		}},
	}}
}
