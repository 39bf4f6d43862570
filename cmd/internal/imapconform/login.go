package main

import (
	"encoding/base64"
	"strings"
)

// LOGIN and AUTHENTICATE: RFC 3501 §6.2, RFC 4616 (PLAIN).
func loginGroup() group {
	return group{name: "login", checks: []check{
		{name: "LOGIN with the right password: OK", rfc: "RFC 3501 §6.2.3", run: func(e *env) error {
			_, err := e.login()
			return err
		}},
		{name: "LOGIN with a wrong password: NO", rfc: "RFC 3501 §6.2.3", run: func(e *env) error {
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
		{name: "LOGIN with the user name as a literal", rfc: "RFC 3501 §6.2.3, §4.3", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			return must(c.withLiteral("LOGIN ", []byte(e.t.user), " "+quote(e.t.pass)), "LOGIN {literal}")
		}},
		{name: "AUTHENTICATE PLAIN after a continuation", rfc: "RFC 3501 §6.2.2, RFC 4616 §2", run: func(e *env) error {
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
		{name: "AUTHENTICATE cancelled with * gets BAD", rfc: "RFC 3501 §6.2.2", run: func(e *env) error {
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
		{name: "AUTHENTICATE with an unknown mechanism: NO", rfc: "RFC 3501 §6.2.2", run: func(e *env) error {
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
		{name: "SELECT before LOGIN is refused, connection kept", rfc: "RFC 3501 §3, §6.3.1", run: func(e *env) error {
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
