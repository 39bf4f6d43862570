package main

import "strings"

// COMPRESS=DEFLATE: RFC 4978.
func compressGroup() group {
	return group{name: "compress", needs: []string{"COMPRESS=DEFLATE"}, checks: []check{
		{name: "after COMPRESS DEFLATE the conversation continues compressed both ways", rfc: "RFC 4978 §3, §4", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if err := must(c.do("COMPRESS DEFLATE"), "COMPRESS DEFLATE"); err != nil {
				return err
			}
			c.compress()
			if err := must(c.do("NOOP"), "NOOP (compressed)"); err != nil {
				return err
			}
			box, err := e.fresh(c, msgMIME, msgPlain)
			if err != nil {
				return err
			}
			if err := must(c.do("SELECT "+box), "SELECT (compressed)"); err != nil {
				return err
			}
			r := c.do("FETCH 1:2 (BODY.PEEK[])")
			if !strings.Contains(r.find(`^\* 1 FETCH`), msgMIME) || !strings.Contains(r.find(`^\* 2 FETCH`), msgPlain) {
				return fail(r, "want both messages byte for byte over the compressed stream")
			}
			return must(r, "FETCH (compressed)")
		}},
		{name: "a second COMPRESS is refused with NO, the stream stays usable", rfc: "RFC 4978 §3 (COMPRESSIONACTIVE)", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			if err := must(c.do("COMPRESS DEFLATE"), "COMPRESS DEFLATE"); err != nil {
				return err
			}
			c.compress()
			r := c.do("COMPRESS DEFLATE")
			if r.status != "NO" {
				return fail(r, "want NO, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards (compressed)")
		}},
		{name: "COMPRESS with an unknown mechanism is refused, the connection stays uncompressed", rfc: "RFC 4978 §3", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			r := c.do("COMPRESS X-NO-SUCH")
			if r.status != "NO" && r.status != "BAD" {
				return fail(r, "want NO or BAD, got %s", orNone(r.status))
			}
			return must(c.do("NOOP"), "NOOP afterwards (uncompressed)")
		}},
	}}
}
