package main

import "strings"

// COPY, MOVE, EXPUNGE, UIDPLUS: RFC 3501 §6.4.3, §6.4.7, §7.4.1;
// RFC 6851; RFC 4315.
func copyMoveGroup() group {
	return group{name: "copymove", checks: []check{
		{name: "COPY answers OK [COPYUID validity src dst] with UIDPLUS", rfc: "RFC 3501 §6.4.7, RFC 4315 §3", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			dst, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.do("COPY 1:2 " + dst)
			if err := must(r, "COPY"); err != nil {
				return err
			}
			if caps(c)["UIDPLUS"] && !regexpMatch(`(?i)^\S+ OK \[COPYUID [1-9]\d* 1:2 1:2\]`, r.tagged) {
				return fail(r, "want OK [COPYUID <validity> 1:2 1:2]")
			}
			if r := c.do("STATUS " + dst + " (MESSAGES)"); statusItem(r, "MESSAGES") != 2 {
				return fail(r, "want MESSAGES 2 in the destination")
			}
			return nil
		}},
		{name: "COPY to a missing mailbox: NO [TRYCREATE]", rfc: "RFC 3501 §6.4.7", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do("COPY 1 " + e.box())
			if r.status != "NO" || !regexpMatch(`(?i)^\S+ NO \[TRYCREATE\]`, r.tagged) {
				return fail(r, "want NO [TRYCREATE]")
			}
			return nil
		}},
		{name: "COPY into the selected mailbox announces * n EXISTS", rfc: "RFC 3501 §6.4.7, §7.3.1", run: func(e *env) error {
			c, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			r := c.do("COPY 1 " + box)
			if count(r, "EXISTS") == 2 {
				return nil
			}
			if r2 := c.do("NOOP"); count(r2, "EXISTS") != 2 {
				return fail(r, "no * 2 EXISTS after COPY into the selected mailbox (nor at the next NOOP)")
			}
			return nil
		}},
		{name: "MOVE sends EXPUNGE and [COPYUID] in an untagged OK", rfc: "RFC 6851 §3.3, §4.3", needs: []string{"MOVE"}, run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			dst, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.do("MOVE 1 " + dst)
			if !r.has(`^\* 1 EXPUNGE$`) {
				return fail(r, "want * 1 EXPUNGE")
			}
			if caps(c)["UIDPLUS"] && !r.has(`^\* OK \[COPYUID [1-9]\d* 1 1\]`) {
				return fail(r, "want * OK [COPYUID <validity> 1 1]")
			}
			return must(r, "MOVE")
		}},
		{name: "MOVE by another session into the selected mailbox: * n EXISTS at NOOP", rfc: "RFC 6851 §3.3, RFC 3501 §7.3.1", needs: []string{"MOVE"}, run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, _, err := e.selected(msgGroups)
			if err != nil {
				return err
			}
			if err := must(b.do("MOVE 1 "+box), "MOVE"); err != nil {
				return err
			}
			if r := a.do("NOOP"); count(r, "EXISTS") != 2 {
				return fail(r, "want * 2 EXISTS")
			}
			return nil
		}},
		{name: "MOVE into the selected mailbox itself keeps the count right", rfc: "RFC 6851 §3.3, RFC 3501 §7.3.1, §7.4.1", needs: []string{"MOVE"}, run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			r := c.do("MOVE 1 " + box)
			if r.status != "OK" {
				return nil // refusing a move onto itself is allowed
			}
			// One EXPUNGE and one new message: 2 messages, the old 2 is now 1.
			n := 2
			for _, u := range r.untagged {
				f := strings.Fields(u)
				if len(f) == 3 && strings.EqualFold(f[2], "EXPUNGE") {
					n--
				}
				if len(f) == 3 && strings.EqualFold(f[2], "EXISTS") {
					n = atoi(f[1])
				}
			}
			if r2 := c.do("NOOP"); count(r2, "EXISTS") > 0 {
				n = count(r2, "EXISTS")
			}
			if n != 2 {
				return fail(r, "client's count is %d after MOVE onto itself, want 2 (missing * n EXISTS?)", n)
			}
			return nil
		}},
		{name: "COPY by another session into the selected mailbox: * n EXISTS at NOOP", rfc: "RFC 3501 §6.4.7, §7.3.1, §5.2", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, _, err := e.selected(msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			if err := must(b.do("COPY 1:2 "+box), "COPY"); err != nil {
				return err
			}
			if r := a.do("NOOP"); count(r, "EXISTS") != 3 {
				return fail(r, "want * 3 EXISTS")
			}
			return nil
		}},
		{name: "EXPUNGE sends one * n EXPUNGE per removed message, numbers valid in order", rfc: "RFC 3501 §6.4.3, §7.4.1", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups, msgEncoded)
			if err != nil {
				return err
			}
			c.do(`STORE 1:2 +FLAGS.SILENT (\Deleted)`)
			r := c.do("EXPUNGE")
			n := 3
			for _, u := range r.all(`^\* \d+ EXPUNGE$`) {
				k := atoi(strings.Fields(u)[1])
				if k < 1 || k > n {
					return fail(r, "EXPUNGE %d with only %d messages", k, n)
				}
				n--
			}
			if n != 1 {
				return fail(r, "want two EXPUNGE responses")
			}
			if r := c.do("FETCH 1 UID"); !r.has(`^\* 1 FETCH \(UID 3\)`) {
				return fail(r, "want message 1 to be UID 3")
			}
			return must(r, "EXPUNGE")
		}},
		{name: "UID EXPUNGE removes only the listed UIDs", rfc: "RFC 4315 §2.1", run: func(e *env) error {
			c, _, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			c.do(`STORE 1:2 +FLAGS.SILENT (\Deleted)`)
			r := c.do("UID EXPUNGE 2")
			if !r.has(`^\* 2 EXPUNGE$`) || r.has(`^\* 1 EXPUNGE$`) {
				return fail(r, "want only * 2 EXPUNGE")
			}
			return must(r, "UID EXPUNGE")
		}},
		{name: "EXPUNGE in a mailbox opened by EXAMINE removes nothing", rfc: "RFC 3501 §6.3.2, §6.4.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do("SELECT "+box), "SELECT"); err != nil {
				return err
			}
			c.do(`STORE 1 +FLAGS.SILENT (\Deleted)`)
			c.do("EXAMINE " + box)
			if r := c.do("EXPUNGE"); r.status == "BYE" || r.has("EXPUNGE") {
				return fail(r, "want NO (or OK with nothing removed)")
			}
			if r := c.do("STATUS " + box + " (MESSAGES)"); statusItem(r, "MESSAGES") != 1 {
				return fail(r, "want MESSAGES 1: EXPUNGE removed a message in EXAMINE mode")
			}
			return nil
		}},
	}}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
