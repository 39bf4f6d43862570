package main

import "regexp"

// NAMESPACE: RFC 2342.
func namespaceGroup() group {
	return group{name: "namespace", needs: []string{"NAMESPACE"}, checks: []check{
		{name: "NAMESPACE gives a personal namespace with LIST's delimiter", rfc: "RFC 2342 §5, RFC 3501 §6.3.8", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			d := delim(c)
			r := c.do("NAMESPACE")
			m := regexp.MustCompile(`^\* NAMESPACE \(\("([^"]*)" "(\\?.)"\)`).FindStringSubmatch(r.find(`^\* NAMESPACE `))
			if m == nil {
				return fail(r, `want * NAMESPACE (("prefix" "delim")...) ...`)
			}
			if got := regexp.MustCompile(`^\\`).ReplaceAllString(m[2], ""); got != d {
				return fail(r, "personal namespace delimiter %q, LIST says %q", got, d)
			}
			if !r.has(`^\* NAMESPACE (\(.*\)|NIL) (\(.*\)|NIL) (\(.*\)|NIL)$`) {
				return fail(r, "want three namespace lists (personal, other users, shared)")
			}
			return must(r, "NAMESPACE")
		}},
		{name: "NAMESPACE before login is refused, connection kept", rfc: "RFC 2342 §5 (authenticated and selected states)", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("NAMESPACE")
			if r.status == "OK" || r.status == "BYE" {
				return fail(r, "want BAD or NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
	}}
}
