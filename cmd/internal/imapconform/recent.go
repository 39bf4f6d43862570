package main

import "strings"

// \Recent and RECENT: RFC 3501 §2.3.2, §7.3.2, §6.3.2.
func recentGroup() group {
	return group{name: "recent", checks: []check{
		{name: "the first session to select sees * n RECENT and \\Recent", rfc: "RFC 3501 §2.3.2, §7.3.2", run: func(e *env) error {
			c, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			_ = box
			r2 := c.do("FETCH 1:2 FLAGS")
			if len(r2.all(`^\* \d FETCH \(FLAGS \(.*\\Recent`)) != 2 {
				return fail(r2, `want \Recent on both messages`)
			}
			return nil
		}},
		{name: "SELECT reports the recent count", rfc: "RFC 3501 §6.3.1, §7.3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain, msgGroups)
			if err != nil {
				return err
			}
			if r := c.do("SELECT " + box); count(r, "RECENT") != 2 {
				return fail(r, "want * 2 RECENT")
			}
			return nil
		}},
		{name: "a second session does not see the messages as recent", rfc: "RFC 3501 §2.3.2", run: func(e *env) error {
			_, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			r := b.do("SELECT " + box)
			if count(r, "RECENT") != 0 {
				return fail(r, "want * 0 RECENT in the second session")
			}
			if r := b.do("FETCH 1:2 FLAGS"); r.has(`\\Recent`) {
				return fail(r, `\Recent seen by a second session`)
			}
			return nil
		}},
		{name: "STATUS RECENT is 0 once a session has selected the mailbox", rfc: "RFC 3501 §2.3.2, §6.3.10", run: func(e *env) error {
			_, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			if r := b.do("STATUS " + box + " (RECENT)"); statusItem(r, "RECENT") != 0 {
				return fail(r, "want RECENT 0")
			}
			return nil
		}},
		{name: "EXAMINE does not take \\Recent away", rfc: "RFC 3501 §6.3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			c.do("EXAMINE " + box)
			c.do("CLOSE")
			b, err := e.login()
			if err != nil {
				return err
			}
			if r := b.do("SELECT " + box); count(r, "RECENT") != 1 {
				return fail(r, "want * 1 RECENT after an earlier EXAMINE")
			}
			return nil
		}},
		{name: "a new message while selected: * n EXISTS, * n RECENT and \\Recent", rfc: "RFC 3501 §7.3.1, §7.3.2", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			if err := must(b.withLiteral("APPEND "+box+" ", []byte(msgGroups), ""), "APPEND"); err != nil {
				return err
			}
			r := a.do("NOOP")
			if count(r, "EXISTS") != 2 || count(r, "RECENT") != 2 {
				return fail(r, "want * 2 EXISTS and * 2 RECENT")
			}
			if r := a.do("FETCH 2 FLAGS"); !strings.Contains(r.find(`^\* 2 FETCH`), `\Recent`) {
				return fail(r, `want \Recent on the new message`)
			}
			return nil
		}},
		{name: "a delivery while two sessions have the mailbox selected is recent in exactly one", rfc: "RFC 3501 §2.3.2, §7.3.2", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			if err := must(b.do("SELECT "+box), "SELECT by the second session"); err != nil {
				return err
			}
			d, err := e.login()
			if err != nil {
				return err
			}
			if err := must(d.withLiteral("APPEND "+box+" ", []byte(msgGroups), ""), "APPEND"); err != nil {
				return err
			}
			var recent []*resp
			seen := 0
			for _, c := range []*conn{a, b} {
				n := c.do("NOOP")
				if count(n, "EXISTS") != 2 {
					return fail(n, "want * 2 EXISTS")
				}
				f := c.do("FETCH 2 (FLAGS)")
				if f.has(`^\* 2 FETCH .*\\Recent`) {
					seen++
				}
				// A session that sees \Recent must have been told * 1 RECENT
				// (or more), the other * 0 RECENT or nothing.
				if f.has(`\\Recent`) != (count(n, "RECENT") >= 1) {
					return fail(n, "\\Recent on message 2 and the * n RECENT count disagree")
				}
				recent = append(recent, f)
			}
			if seen != 1 {
				return fail(recent[1], "\\Recent seen by %d sessions, want exactly 1", seen)
			}
			return nil
		}},
		{name: "STATUS RECENT counts a delivery no session has seen yet", rfc: "RFC 3501 §6.3.10, §2.3.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			c.do("SELECT " + box)
			if err := must(c.do("CLOSE"), "CLOSE"); err != nil {
				return err
			}
			if err := must(c.withLiteral("APPEND "+box+" ", []byte(msgGroups), ""), "APPEND"); err != nil {
				return err
			}
			if r := c.do("STATUS " + box + " (RECENT MESSAGES)"); statusItem(r, "RECENT") != 1 || statusItem(r, "MESSAGES") != 2 {
				return fail(r, "want RECENT 1 MESSAGES 2")
			}
			return nil
		}},
	}}
}
