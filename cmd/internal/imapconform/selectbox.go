package main

// SELECT, EXAMINE, CLOSE, UNSELECT: RFC 3501 §6.3.1, §6.3.2, §6.4.2;
// RFC 3691; RFC 7162 §3.2.11 ([CLOSED]).
func selectGroup() group {
	return group{name: "select", checks: []check{
		{name: "SELECT sends FLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT, PERMANENTFLAGS, READ-WRITE", rfc: "RFC 3501 §6.3.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			r := c.do("SELECT " + box)
			if err := must(r, "SELECT"); err != nil {
				return err
			}
			for _, p := range []string{`^\* FLAGS \(`, `^\* 2 EXISTS$`, `^\* \d+ RECENT$`, `^\* OK \[UIDVALIDITY \d+\]`, `^\* OK \[UIDNEXT \d+\]`, `^\* OK \[PERMANENTFLAGS \(`} {
				if !r.has(p) {
					return fail(r, "missing %s", p)
				}
			}
			if !regexpMatch(`(?i)^\S+ OK \[READ-WRITE\]`, r.tagged) {
				return fail(r, "tagged OK lacks [READ-WRITE]")
			}
			return nil
		}},
		{name: "EXAMINE answers OK [READ-ONLY]", rfc: "RFC 3501 §6.3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			r := c.do("EXAMINE " + box)
			if !regexpMatch(`(?i)^\S+ OK \[READ-ONLY\]`, r.tagged) || !r.has(`^\* 1 EXISTS$`) {
				return fail(r, "want * 1 EXISTS and OK [READ-ONLY]")
			}
			return nil
		}},
		{name: "SELECT of a missing mailbox: NO", rfc: "RFC 3501 §6.3.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if r := c.do("SELECT " + e.box()); r.status != "NO" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return nil
		}},
		{name: "a failed SELECT leaves no mailbox selected", rfc: "RFC 3501 §6.3.1", run: func(e *env) error {
			c, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			_ = box
			c.do("SELECT " + e.box())
			if r := c.do("FETCH 1 FLAGS"); r.status == "OK" {
				return fail(r, "FETCH worked: the old mailbox is still selected")
			}
			return nil
		}},
		{name: "CLOSE expunges \\Deleted silently", rfc: "RFC 3501 §6.4.2", run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			if err := must(c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`), "STORE"); err != nil {
				return err
			}
			r := c.do("CLOSE")
			if err := must(r, "CLOSE"); err != nil {
				return err
			}
			if r.has(`EXPUNGE`) {
				return fail(r, "CLOSE sent EXPUNGE responses")
			}
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 1 {
				return fail(r, "want MESSAGES 1 after CLOSE")
			}
			return nil
		}},
		{name: "CLOSE after EXAMINE removes nothing", rfc: "RFC 3501 §6.4.2", run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			if err := must(c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`), "STORE"); err != nil {
				return err
			}
			if err := must(c.do("EXAMINE "+box), "EXAMINE"); err != nil {
				return err
			}
			if err := must(c.do("CLOSE"), "CLOSE"); err != nil {
				return err
			}
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 2 {
				return fail(r, "want MESSAGES 2: CLOSE in EXAMINE mode expunged")
			}
			return nil
		}},
		{name: "UNSELECT keeps \\Deleted messages and leaves the selected state", rfc: "RFC 3691 §2", needs: []string{"UNSELECT"}, run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`)
			if err := must(c.do("UNSELECT"), "UNSELECT"); err != nil {
				return err
			}
			if r := c.do("FETCH 1 FLAGS"); r.status == "OK" {
				return fail(r, "FETCH worked after UNSELECT")
			}
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 2 {
				return fail(r, "UNSELECT expunged")
			}
			return nil
		}},
		{name: "[CLOSED] after ENABLE QRESYNC when a mailbox is replaced", rfc: "RFC 7162 §3.2.11", needs: []string{"QRESYNC"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do("ENABLE QRESYNC"), "ENABLE QRESYNC"); err != nil {
				return err
			}
			c.do("SELECT " + box)
			r := c.do("SELECT " + box)
			if !r.has(`^\* OK \[CLOSED\]`) {
				return fail(r, "no * OK [CLOSED] before the new mailbox's responses")
			}
			return nil
		}},
		{name: "[CLOSED] after ENABLE IMAP4rev2 when a mailbox is replaced", rfc: "RFC 9051 §6.3.1, §7.1", needs: []string{"IMAP4REV2"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do("ENABLE IMAP4rev2"), "ENABLE IMAP4rev2"); err != nil {
				return err
			}
			c.do("SELECT " + box)
			r := c.do("EXAMINE " + box)
			if !r.has(`^\* OK \[CLOSED\]`) {
				return fail(r, "no * OK [CLOSED] before the new mailbox's responses")
			}
			return nil
		}},
		// Issue 16 asks for [CLOSED] only after ENABLE QRESYNC or
		// IMAP4rev2. No RFC forbids it to others (RFC 3501 §7.1: clients
		// ignore codes they do not know), and RFC 7162 §3.2.11 has a
		// QRESYNC server send it on every implicit close, as Dovecot does
		// to every client: so the check applies only to servers without
		// QRESYNC, whose IMAP4rev1 sessions have no use for it.
		{name: "no [CLOSED] for an IMAP4rev1 client when QRESYNC is not offered and IMAP4rev2 not enabled", rfc: "RFC 3501 §7.1 (no CLOSED in IMAP4rev1), RFC 9051 §7.1 (CLOSED is IMAP4rev2's), issue 16",
			unless: "QRESYNC", unlessWhy: "RFC 7162 §3.2.11 has a QRESYNC server send [CLOSED] on every implicit close", run: func(e *env) error {
				c, err := e.login()
				if err != nil {
					return err
				}
				box, err := e.fresh(c, msgPlain)
				if err != nil {
					return err
				}
				c.do("SELECT " + box)
				r := c.do("EXAMINE " + box)
				if r.has(`\[CLOSED\]`) {
					return fail(r, "[CLOSED] sent to a client that did not enable QRESYNC or IMAP4rev2")
				}
				return must(r, "EXAMINE")
			}},
	}}
}
