package main

import (
	"strings"
	"time"
)

// capability, NOOP, LOGOUT: RFC 3501 §6.1.
func capabilityGroup() group {
	return group{name: "capability", checks: []check{
		{name: "greeting is untagged OK or PREAUTH", rfc: "RFC 3501 §7.1.1, §7.1.4", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			if !strings.HasPrefix(c.greeting, "* OK") && !strings.HasPrefix(c.greeting, "* PREAUTH") {
				return fail(&resp{cmd: "(connect)", untagged: []string{c.greeting}}, "greeting is not * OK")
			}
			return nil
		}},
		{name: "CAPABILITY lists IMAP4rev1 in one untagged CAPABILITY", rfc: "RFC 3501 §6.1.1, §7.2.1", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("CAPABILITY")
			if err := must(r, "CAPABILITY"); err != nil {
				return err
			}
			if len(r.all(`^\* CAPABILITY `)) != 1 || !r.has(`^\* CAPABILITY .*\bIMAP4rev1\b`) {
				return fail(r, "want exactly one * CAPABILITY containing IMAP4rev1")
			}
			return nil
		}},
		{name: "NOOP answers OK before and after login", rfc: "RFC 3501 §6.1.2", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			if err := must(c.do("NOOP"), "NOOP (not authenticated)"); err != nil {
				return err
			}
			if r := c.do("LOGIN " + quote(e.t.user) + " " + quote(e.t.pass)); r.status != "OK" {
				return fail(r, "LOGIN failed")
			}
			return must(c.do("NOOP"), "NOOP (authenticated)")
		}},
		{name: "CAPABILITY after LOGIN still lists IMAP4rev1", rfc: "RFC 3501 §6.1.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if !caps(c)["IMAP4REV1"] {
				return fail(nil, "no IMAP4rev1 after login")
			}
			return nil
		}},
		{name: "LOGOUT sends BYE before tagged OK, then closes", rfc: "RFC 3501 §6.1.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("LOGOUT")
			if r.tagged == "" || !strings.HasPrefix(strings.ToUpper(r.tagged), r.cmd[:4]+" OK") || !r.has(`^\* BYE`) {
				return fail(r, "want * BYE then tagged OK")
			}
			if _, err := c.readOne(5 * time.Second); err == nil {
				return fail(r, "connection still open after LOGOUT")
			}
			return nil
		}},
	}}
}
