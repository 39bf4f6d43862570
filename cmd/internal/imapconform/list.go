package main

import (
	"regexp"
	"strings"
)

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// LIST, LSUB, LIST-EXTENDED, CREATE/DELETE/RENAME: RFC 3501 §6.3.3-6.3.9,
// RFC 5258.
func listGroup() group {
	// parentChild creates parent and parent<d>child and returns both.
	parentChild := func(e *env, c *conn, createParent bool) (string, string, error) {
		d := delim(c)
		p := e.box()
		ch := p + d + "child"
		if createParent {
			if err := must(c.do("CREATE "+p), "CREATE parent"); err != nil {
				return "", "", err
			}
		}
		if err := must(c.do("CREATE "+ch), "CREATE child"); err != nil {
			return "", "", err
		}
		return p, ch, nil
	}
	return group{name: "list", checks: []check{
		{name: `LIST "" "" gives the delimiter with \Noselect`, rfc: "RFC 3501 §6.3.8", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do(`LIST "" ""`)
			if !r.has(`^\* LIST \([^)]*\\Noselect[^)]*\) ("."|NIL) ""$`) {
				return fail(r, `want * LIST (\Noselect) "<delim>" ""`)
			}
			return must(r, "LIST")
		}},
		{name: `LIST "" "*" shows INBOX and a created mailbox`, rfc: "RFC 3501 §6.3.8, §6.3.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.do(`LIST "" "*"`)
			if !r.has(`^\* LIST \([^)]*\) \S+ "?INBOX"?$`) || !r.has(`^\* LIST \([^)]*\) \S+ "?`+regexp.QuoteMeta(box)+`"?$`) {
				return fail(r, "INBOX or %s missing", box)
			}
			return nil
		}},
		{name: `"%" does not match below the hierarchy delimiter`, rfc: "RFC 3501 §6.3.8", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			p, _, err := parentChild(e, c, true)
			if err != nil {
				return err
			}
			r := c.do(`LIST "" "` + p + `%"`)
			if len(r.all(`^\* LIST `)) != 1 || !r.has(regexp.QuoteMeta(p)+`"?$`) {
				return fail(r, "want only %s", p)
			}
			return nil
		}},
		{name: "DELETE removes a mailbox from LIST", rfc: "RFC 3501 §6.3.4", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do("DELETE "+box), "DELETE"); err != nil {
				return err
			}
			if r := c.do(`LIST "" ` + box); r.has(`^\* LIST`) {
				return fail(r, "deleted mailbox still listed")
			}
			return nil
		}},
		{name: "RENAME moves the messages to the new name", rfc: "RFC 3501 §6.3.5", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c, msgPlain)
			if err != nil {
				return err
			}
			to := e.box()
			if err := must(c.do("RENAME "+box+" "+to), "RENAME"); err != nil {
				return err
			}
			if r := c.do("STATUS " + to + " (MESSAGES)"); statusItem(r, "MESSAGES") != 1 {
				return fail(r, "want MESSAGES 1 in the new name")
			}
			return nil
		}},
		{name: "modified UTF-7 names round-trip", rfc: "RFC 3501 §5.1.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			name := e.box() + "-caf&AOk-"
			if err := must(c.do("CREATE "+name), "CREATE"); err != nil {
				return err
			}
			r := c.do(`LIST "" ` + name)
			if !r.has(regexp.QuoteMeta(name) + `"?$`) {
				return fail(r, "want %s listed as sent", name)
			}
			return nil
		}},
		{name: `LSUB "%" returns an unsubscribed parent of a subscribed child as \Noselect`, rfc: "RFC 3501 §6.3.9", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			p, ch, err := parentChild(e, c, true)
			if err != nil {
				return err
			}
			if err := must(c.do("SUBSCRIBE "+ch), "SUBSCRIBE"); err != nil {
				return err
			}
			r := c.do(`LSUB "" "` + p + `%"`)
			if !r.has(`^\* LSUB \([^)]*\\Noselect[^)]*\) \S+ "?` + regexp.QuoteMeta(p) + `"?$`) {
				return fail(r, `want * LSUB (\Noselect) for %s`, p)
			}
			return nil
		}},
		{name: "LSUB lists subscribed mailboxes only", rfc: "RFC 3501 §6.3.9, §6.3.6", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			a, err := e.fresh(c)
			if err != nil {
				return err
			}
			b, err := e.fresh(c)
			if err != nil {
				return err
			}
			c.do("SUBSCRIBE " + a)
			r := c.do(`LSUB "" "cf-list-*"`)
			if !r.has(regexp.QuoteMeta(a)+`"?$`) || r.has(regexp.QuoteMeta(b)+`"?$`) {
				return fail(r, "want %s and not %s", a, b)
			}
			return nil
		}},
		{name: `LIST (SUBSCRIBED) marks a subscribed, deleted mailbox \NonExistent`, rfc: "RFC 5258 §3.1, §3.4; RFC 3501 §6.3.6", needs: []string{"LIST-EXTENDED"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			ghost, err := e.fresh(c)
			if err != nil {
				return err
			}
			if err := must(c.do("SUBSCRIBE "+ghost), "SUBSCRIBE"); err != nil {
				return err
			}
			// RFC 3501 §6.3.6: the subscription outlives the mailbox.
			if err := must(c.do("DELETE "+ghost), "DELETE"); err != nil {
				return err
			}
			r := c.do(`LIST (SUBSCRIBED) "" "` + ghost + `"`)
			u := r.find(regexp.QuoteMeta(ghost) + `"?$`)
			if !strings.Contains(u, `\Subscribed`) || !strings.Contains(u, `\NonExistent`) {
				return fail(r, `want (\Subscribed \NonExistent) for %s`, ghost)
			}
			return nil
		}},
		{name: `LIST (SUBSCRIBED RECURSIVEMATCH) gives CHILDINFO ("SUBSCRIBED")`, rfc: "RFC 5258 §3.5, §4", needs: []string{"LIST-EXTENDED"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			p, ch, err := parentChild(e, c, true)
			if err != nil {
				return err
			}
			c.do("SUBSCRIBE " + ch)
			r := c.do(`LIST (SUBSCRIBED RECURSIVEMATCH) "" "` + p + `"`)
			if !r.has(regexp.QuoteMeta(p) + `"? \(\s*"?CHILDINFO"? \(\s*"SUBSCRIBED"\s*\)\s*\)$`) {
				return fail(r, `want %s with ("CHILDINFO" ("SUBSCRIBED"))`, p)
			}
			return nil
		}},
		{name: `LIST RETURN (CHILDREN) gives \HasChildren and \HasNoChildren`, rfc: "RFC 5258 §4, RFC 3348", needs: []string{"LIST-EXTENDED"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			p, ch, err := parentChild(e, c, true)
			if err != nil {
				return err
			}
			r := c.do(`LIST "" "` + p + `*" RETURN (CHILDREN)`)
			if !strings.Contains(r.find(regexp.QuoteMeta(p)+`"?$`), `\HasChildren`) || !strings.Contains(r.find(regexp.QuoteMeta(ch)+`"?$`), `\HasNoChildren`) {
				return fail(r, `want \HasChildren on %s and \HasNoChildren on %s`, p, ch)
			}
			return nil
		}},
	}}
}
