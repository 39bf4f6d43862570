package main

// ENABLE: RFC 5161.
func enableGroup() group {
	return group{name: "enable", needs: []string{"ENABLE"}, checks: []check{
		{name: "ENABLE without a capability: BAD, connection kept", rfc: "RFC 5161 §4 (\"ENABLE\" 1*(SP capability))",
			exempt: "Dovecot 2.3 answers OK to a bare ENABLE; RFC 5161 §4's grammar needs at least one capability, so it is a syntax error (BAD, RFC 3501 §7.1.3)", run: func(e *env) error {
				c, err := e.login()
				if err != nil {
					return err
				}
				r := c.do("ENABLE")
				if r.status != "BAD" {
					return fail(r, "want BAD, got %s", orNone(r.status))
				}
				return must(c.do("NOOP"), "NOOP afterwards")
			}},
		{name: "ENABLE of an advertised extension answers * ENABLED with it", rfc: "RFC 5161 §3.1, §3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			cs := caps(c)
			for _, x := range []string{"CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"} {
				if cs[x] {
					r := c.do("ENABLE " + x)
					if !r.has(`^\* ENABLED .*\b` + x + `\b`) {
						return fail(r, "want * ENABLED %s", x)
					}
					return must(r, "ENABLE")
				}
			}
			return nil // nothing ENABLE-able advertised
		}},
		{name: "ENABLE of an unknown extension is OK and not listed as enabled", rfc: "RFC 5161 §3.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("ENABLE X-CONFORM-UNKNOWN")
			if r.has(`X-CONFORM-UNKNOWN`) {
				return fail(r, "unknown extension reported as enabled")
			}
			return must(r, "ENABLE")
		}},
		{name: "ENABLE before LOGIN enables nothing", rfc: "RFC 5161 §3.1", run: func(e *env) error {
			c, err := e.dial()
			if err != nil {
				return err
			}
			r := c.do("ENABLE CONDSTORE")
			if r.status == "BYE" || r.has(`^\* ENABLED .*CONDSTORE`) {
				return fail(r, "want BAD, NO or OK with nothing enabled; got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards")
		}},
	}}
}
