package main

import (
	"encoding/base64"
	"strings"
)

// LOGIN and AUTHENTICATE: RFC 3501 §6.2, RFC 4616 (PLAIN).
func loginGroup() group {
	return group{name: "login", checks: []check{
		{"LOGIN with the right password: OK", "RFC 3501 §6.2.3", func(e *env) error {
			_, err := e.login()
			return err
		}},
		{"LOGIN with a wrong password: NO", "RFC 3501 §6.2.3", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("LOGIN " + quote(e.t.user) + ` "wrong-password"`)
			if r.status != "NO" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return nil
		}},
		{"LOGIN with the user name as a literal", "RFC 3501 §6.2.3, §4.3", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			return must(c.withLiteral("LOGIN ", []byte(e.t.user), " "+quote(e.t.pass)), "LOGIN {literal}")
		}},
		{"AUTHENTICATE PLAIN after a continuation", "RFC 3501 §6.2.2, RFC 4616 §2", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			t := c.tag()
			r := c.raw(t+" AUTHENTICATE PLAIN\r\n", "")
			if !strings.HasPrefix(r.untagged[0], "+") {
				return fail(r, "no continuation request")
			}
			cred := base64.StdEncoding.EncodeToString([]byte("\x00" + e.t.user + "\x00" + e.t.pass))
			return must(c.raw(cred+"\r\n", t), "AUTHENTICATE PLAIN")
		}},
		{"AUTHENTICATE cancelled with * gets BAD", "RFC 3501 §6.2.2", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			t := c.tag()
			r := c.raw(t+" AUTHENTICATE PLAIN\r\n", "")
			if !strings.HasPrefix(r.untagged[0], "+") {
				return fail(r, "no continuation request")
			}
			r = c.raw("*\r\n", t)
			if r.status != "BAD" {
				return fail(r, "want BAD after *, got %s", orNone(r.status))
			}
			return nil
		}},
		{"AUTHENTICATE with an unknown mechanism: NO", "RFC 3501 §6.2.2", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("AUTHENTICATE X-NO-SUCH-MECH")
			if r.status != "NO" && r.status != "BAD" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return nil
		}},
		{"SELECT before LOGIN is refused, connection kept", "RFC 3501 §3, §6.3.1", func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("SELECT INBOX")
			if r.status == "OK" || r.status == "BYE" {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP after refused SELECT")
		}},
	}}
}
