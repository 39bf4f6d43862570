package main

import (
	"regexp"
	"strings"
)

// specialUse matches a special-use attribute. RFC 6154 §2
const specialUse = `\\(All|Archive|Drafts|Flagged|Junk|Sent|Trash)\b`

// SPECIAL-USE and CREATE-SPECIAL-USE: RFC 6154.
func specialUseGroup() group {
	return group{name: "specialuse", checks: []check{
		{name: `LIST RETURN (SPECIAL-USE) marks \Sent, \Drafts and \Trash`, rfc: "RFC 6154 §2, §5.1", needs: []string{"SPECIAL-USE", "LIST-EXTENDED"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do(`LIST "" "*" RETURN (SPECIAL-USE)`)
			for _, a := range []string{`\\Sent`, `\\Drafts`, `\\Trash`} {
				if !r.has(`^\* LIST \([^)]*` + a + `\b`) {
					return fail(r, "no mailbox marked %s", strings.ReplaceAll(a, `\\`, `\`))
				}
			}
			return must(r, "LIST RETURN (SPECIAL-USE)")
		}},
		{name: "LIST (SPECIAL-USE) lists only special-use mailboxes", rfc: "RFC 6154 §5.2", needs: []string{"SPECIAL-USE", "LIST-EXTENDED"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			r := c.do(`LIST (SPECIAL-USE) "" "*"`)
			lines := r.all(`^\* LIST `)
			if len(lines) == 0 {
				return fail(r, "no mailbox listed")
			}
			for _, l := range lines {
				if !regexpMatch(`^\* LIST \([^)]*`+specialUse, l) || strings.Contains(l, box) {
					return fail(r, "listed without a special-use attribute: %s", l)
				}
			}
			return must(r, "LIST (SPECIAL-USE)")
		}},
		{name: "CREATE (USE (\\Archive)) creates a mailbox LIST shows as \\Archive, or refuses with NO [USEATTR]", rfc: "RFC 6154 §3, §5.3", needs: []string{"CREATE-SPECIAL-USE"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box := e.box()
			r := c.do("CREATE " + box + ` (USE (\Archive))`)
			if r.status == "NO" && regexpMatch(`(?i)\[USEATTR\]`, r.tagged) {
				return nil
			}
			if err := must(r, "CREATE (USE)"); err != nil {
				return err
			}
			r = c.do(`LIST "" "` + box + `" RETURN (SPECIAL-USE)`)
			if !r.has(`^\* LIST \([^)]*\\Archive\b[^)]*\) \S+ "?` + regexp.QuoteMeta(box)) {
				return fail(r, `want %s listed with \Archive`, box)
			}
			return nil
		}},
		{name: "CREATE with an unknown use attribute: NO [USEATTR], nothing created", rfc: "RFC 6154 §3", needs: []string{"CREATE-SPECIAL-USE"}, run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box := e.box()
			r := c.do("CREATE " + box + ` (USE (\XConformNoSuchUse))`)
			if r.status != "NO" || !regexpMatch(`(?i)\[USEATTR\]`, r.tagged) {
				return fail(r, "want NO [USEATTR], got %s", orNone(r.status))
			}
			if r := c.do(`LIST "" "` + box + `"`); r.has(`^\* LIST`) {
				return fail(r, "the mailbox was created anyway")
			}
			return nil
		}},
	}}
}
