package main

// ENABLE: RFC 5161.
func enableGroup() group {
	return group{name: "enable", checks: []check{
		{name: "ENABLE is advertised", rfc: "RFC 5161 §3.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if !caps(c)["ENABLE"] {
				return fail(nil, "ENABLE not in CAPABILITY")
			}
			return nil
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
