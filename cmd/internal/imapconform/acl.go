package main

import "regexp"

// ACL: RFC 4314.
func aclGroup() group {
	return group{name: "acl", needs: []string{"ACL"}, checks: []check{
		{name: "MYRIGHTS INBOX: the owner may at least look up and read", rfc: "RFC 4314 §3.5, §3.8, §2.1", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("MYRIGHTS INBOX")
			m := regexp.MustCompile(`(?i)^\* MYRIGHTS "?INBOX"? "?([a-z0-9]+)"?$`).FindStringSubmatch(r.find(`^\* MYRIGHTS `))
			if m == nil || !regexpMatch(`l`, m[1]) || !regexpMatch(`r`, m[1]) {
				return fail(r, "want * MYRIGHTS INBOX with l and r")
			}
			return must(r, "MYRIGHTS")
		}},
		{name: "GETACL INBOX answers * ACL INBOX with identifier and rights pairs", rfc: "RFC 4314 §3.3, §3.6", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("GETACL INBOX")
			if !r.has(`^\* ACL "?INBOX"?( ("[^"]*"|\S+) "?[a-z0-9]*"?)+$`) {
				return fail(r, "want * ACL INBOX identifier rights ...")
			}
			return must(r, "GETACL")
		}},
		{name: "LISTRIGHTS answers required and optional rights", rfc: "RFC 4314 §3.4, §3.7", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("LISTRIGHTS INBOX anyone")
			if !r.has(`^\* LISTRIGHTS "?INBOX"? "?anyone"? \S*`) {
				return fail(r, "want * LISTRIGHTS INBOX anyone <required> <optional>...")
			}
			return must(r, "LISTRIGHTS")
		}},
		{name: "SETACL grants, GETACL shows it, DELETEACL takes it away", rfc: "RFC 4314 §3.1, §3.2, §3.3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			if err := must(c.do("SETACL "+box+" anyone lr"), "SETACL"); err != nil {
				return err
			}
			r := c.do("GETACL " + box)
			if !r.has(`^\* ACL .* "?anyone"? "?lr"?( |$)`) {
				return fail(r, "want anyone lr in * ACL")
			}
			if err := must(c.do("DELETEACL "+box+" anyone"), "DELETEACL"); err != nil {
				return err
			}
			if r := c.do("GETACL " + box); r.has(`^\* ACL .* "?anyone"? `) {
				return fail(r, "anyone still listed after DELETEACL")
			}
			return nil
		}},
	}}
}
