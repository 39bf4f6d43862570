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
		{"SEARCH ALL", "RFC 3501 §6.4.4", find("ALL", " 1 2 3 4")},
		{"SEARCH FROM a display name with a comma", "RFC 3501 §6.4.4", find(`FROM "Doe"`, " 1")},
		{"SEARCH FROM the local part of a name-addr", "RFC 3501 §6.4.4", find(`FROM "john"`, " 1 4")},
		{"SEARCH FROM a bare addr-spec", "RFC 3501 §6.4.4", find(`FROM "mary@example.net"`, " 2")},
		{"SEARCH FROM the domain", "RFC 3501 §6.4.4", find(`FROM "example.com"`, " 3")},
		{"SEARCH CHARSET UTF-8 FROM a decoded RFC 2047 name", "RFC 3501 §6.4.4, RFC 2047", func(e *env) error {
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
		{"SEARCH FROM a bare angle-addr", "RFC 3501 §6.4.4", func(e *env) error {
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
		{"SEARCH HEADER Sender finds an addr-spec with a comment", "RFC 3501 §6.4.4", func(e *env) error {
			c, _, err := e.selected(msgPlain, msgForms)
			if err != nil {
				return err
			}
			if r := c.do(`SEARCH HEADER Sender "plain@example.org"`); !r.has(`^\* SEARCH 2$`) {
				return fail(r, "want * SEARCH 2")
			}
			return nil
		}},
		{"SEARCH TO a group member", "RFC 3501 §6.4.4", find(`TO "b@example.com"`, " 2")},
		{"SEARCH SUBJECT, case-insensitive substring", "RFC 3501 §6.4.4", find(`SUBJECT "PLAIN"`, " 1")},
		{"SEARCH BODY", "RFC 3501 §6.4.4", find(`BODY "group mail"`, " 2")},
		{"SEARCH HEADER Message-ID", "RFC 3501 §6.4.4", find(`HEADER Message-ID "<mime1@example.org>"`, " 4")},
		{"SEARCH OR and NOT", "RFC 3501 §6.4.4", find(`OR SUBJECT groups SUBJECT mime NOT FROM mary`, " 4")},
		{"SEARCH with a sequence set and UNSEEN", "RFC 3501 §6.4.4", find(`2:3 UNSEEN`, " 2 3")},
		{"UID SEARCH answers UIDs", "RFC 3501 §6.4.8", func(e *env) error {
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
		{"SEARCH with an unknown charset: NO [BADCHARSET]", "RFC 3501 §6.4.4, §7.1", func(e *env) error {
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
