package main

// SEARCH: RFC 3501 §6.4.4.
func searchGroup() group {
	// find selects a mailbox with all four test messages and runs one
	// SEARCH; want is the expected "* SEARCH ..." line.
	find := func(criteria, want string) func(e *env) error {
		return func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded, msgMIME)
			if err != nil {
				return err
			}
			r := c.do("SEARCH " + criteria)
			if !r.has(`^\* SEARCH` + want + `$`) {
				return fail(r, "want * SEARCH%s", want)
			}
			return must(r, "SEARCH")
		}
	}
	return group{name: "search", checks: []check{
		{name: "SEARCH ALL", rfc: "RFC 3501 §6.4.4", run: find("ALL", " 1 2 3 4")},
		{name: "SEARCH FROM a display name with a comma", rfc: "RFC 3501 §6.4.4", run: find(`FROM "Doe"`, " 1")},
		{name: "SEARCH FROM the local part of a name-addr", rfc: "RFC 3501 §6.4.4", run: find(`FROM "john"`, " 1 4")},
		{name: "SEARCH FROM a bare addr-spec", rfc: "RFC 3501 §6.4.4", run: find(`FROM "mary@example.net"`, " 2")},
		{name: "SEARCH FROM the domain", rfc: "RFC 3501 §6.4.4", run: find(`FROM "example.com"`, " 3")},
		{name: "SEARCH FROM a whole display name with its comma", rfc: "RFC 3501 §6.4.4", run: find(`FROM "Doe, John"`, " 1")},
		{name: "SEARCH FROM a whole address in a name-addr and in a bare addr-spec", rfc: "RFC 3501 §6.4.4", run: find(`FROM "john@example.org"`, " 1 4")},
		{name: "SEARCH FROM an ASCII piece of a decoded RFC 2047 name (space, not the encoded underscore)", rfc: "RFC 3501 §6.4.4, RFC 2047 §4.2", run: find(`FROM "g M"`, " 3")},
		{name: "SEARCH CHARSET UTF-8 FROM a decoded RFC 2047 name", rfc: "RFC 3501 §6.4.4, RFC 2047", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded, msgMIME)
			if err != nil {
				return err
			}
			r := c.withLiteral("SEARCH CHARSET UTF-8 FROM ", []byte("Jörg"), "")
			if !r.has(`^\* SEARCH 3$`) {
				return fail(r, "want * SEARCH 3")
			}
			return nil
		}},
		{name: "SEARCH FROM a bare angle-addr", rfc: "RFC 3501 §6.4.4", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgForms)
			if err != nil {
				return err
			}
			if r := c.do(`SEARCH FROM "angle@example.org"`); !r.has(`^\* SEARCH 2$`) {
				return fail(r, "want * SEARCH 2")
			}
			if r := c.do(`SEARCH FROM "angle"`); !r.has(`^\* SEARCH 2$`) {
				return fail(r, "want * SEARCH 2")
			}
			return nil
		}},
		{name: "SEARCH HEADER Sender finds an addr-spec with a comment", rfc: "RFC 3501 §6.4.4", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgForms)
			if err != nil {
				return err
			}
			if r := c.do(`SEARCH HEADER Sender "plain@example.org"`); !r.has(`^\* SEARCH 2$`) {
				return fail(r, "want * SEARCH 2")
			}
			return nil
		}},
		{name: "SEARCH TO a group member", rfc: "RFC 3501 §6.4.4", run: find(`TO "b@example.com"`, " 2")},
		{name: "SEARCH SUBJECT, case-insensitive substring", rfc: "RFC 3501 §6.4.4", run: find(`SUBJECT "PLAIN"`, " 1")},
		{name: "SEARCH BODY", rfc: "RFC 3501 §6.4.4", run: find(`BODY "group mail"`, " 2")},
		{name: "SEARCH HEADER Message-ID", rfc: "RFC 3501 §6.4.4", run: find(`HEADER Message-ID "<mime1@example.org>"`, " 4")},
		{name: "SEARCH OR and NOT", rfc: "RFC 3501 §6.4.4", run: find(`OR SUBJECT groups SUBJECT mime NOT FROM mary`, " 4")},
		{name: "SEARCH with a sequence set and UNSEEN", rfc: "RFC 3501 §6.4.4", run: find(`2:3 UNSEEN`, " 2 3")},
		{name: "UID SEARCH answers UIDs", rfc: "RFC 3501 §6.4.8", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do("STORE 1 +FLAGS.SILENT (\\Deleted)")
			c.do("EXPUNGE")
			if r := c.do("UID SEARCH ALL"); !r.has(`^\* SEARCH 2$`) {
				return fail(r, "want * SEARCH 2 (the UID, not the sequence number)")
			}
			return nil
		}},
		{name: "SEARCH with an unknown charset: NO [BADCHARSET]", rfc: "RFC 3501 §6.4.4, §7.1", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do(`SEARCH CHARSET X-NO-SUCH-CHARSET FROM x`)
			if r.status != "NO" || !regexpMatch(`(?i)^\S+ NO \[BADCHARSET`, r.tagged) {
				return fail(r, "want NO [BADCHARSET]")
			}
			return nil
		}},
	}}
}
