package main

import (
	"regexp"
	"strings"
)

// QUOTA: RFC 9208 (and RFC 2087 before it).
func quotaGroup() group {
	// root returns the first quota root of INBOX and the QUOTAROOT answer.
	root := func(c *conn) (string, *resp) {
		r := c.do("GETQUOTAROOT INBOX")
		m := regexp.MustCompile(`(?i)^\* QUOTAROOT "?INBOX"? ("(?:[^"\\]|\\.)*"|\S+)`).FindStringSubmatch(r.find(`^\* QUOTAROOT `))
		if m == nil {
			return "", r
		}
		return m[1], r
	}
	// storage returns usage and limit of STORAGE in a QUOTA response.
	storage := func(r *resp) (int64, int64) {
		m := regexp.MustCompile(`(?i)\bSTORAGE (\d+) (\d+)`).FindStringSubmatch(r.find(`^\* QUOTA `))
		if m == nil {
			return -1, -1
		}
		return number(m[1], ``), number(m[2], ``)
	}
	return group{name: "quota", needs: []string{"QUOTA"}, checks: []check{
		{name: "GETQUOTAROOT INBOX answers * QUOTAROOT INBOX root and * QUOTA root (STORAGE used limit)", rfc: "RFC 9208 §4.1.2, §4.2.1, §4.2.2", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			name, r := root(c)
			if name == "" {
				return fail(r, "want * QUOTAROOT INBOX <root>")
			}
			if used, limit := storage(r); used < 0 || limit < 1 || used > limit {
				return fail(r, "want * QUOTA %s (STORAGE used limit) with 0 <= used <= limit", name)
			}
			return must(r, "GETQUOTAROOT")
		}},
		{name: "GETQUOTA of the root answers * QUOTA with STORAGE", rfc: "RFC 9208 §4.1.1, §4.2.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			name, r := root(c)
			if name == "" {
				return fail(r, "want * QUOTAROOT INBOX <root>")
			}
			r = c.do("GETQUOTA " + name)
			if used, limit := storage(r); used < 0 || limit < 1 {
				return fail(r, "want * QUOTA %s (STORAGE used limit)", name)
			}
			return must(r, "GETQUOTA")
		}},
		{name: "STORAGE usage (KiB) grows by an appended message's size", rfc: "RFC 9208 §5.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			name, r := root(c)
			before, _ := storage(r)
			big := msgPlain + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 160) // 10 KiB more
			if err := must(c.withLiteral("APPEND "+box+" ", []byte(big), ""), "APPEND"); err != nil {
				return err
			}
			r = c.do("GETQUOTA " + name)
			after, _ := storage(r)
			if before < 0 || after < before+9 {
				return fail(r, "STORAGE usage went from %d to %d KiB after appending %d octets", before, after, len(big))
			}
			return nil
		}},
		{name: "GETQUOTA of a root that does not exist: NO", rfc: "RFC 9208 §4.1.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do(`GETQUOTA "cf-no-such-quota-root"`)
			if r.status != "NO" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return nil
		}},
	}}
}
