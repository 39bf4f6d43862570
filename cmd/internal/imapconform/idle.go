package main

import (
	"regexp"
	"strings"
	"time"
)

// idleWait starts IDLE on c, runs change on another connection and
// waits (up to 10 s) for an untagged response matching want; then DONE.
func idleWait(e *env, c *conn, change func() error, want string) error {
	t := c.tag()
	r := c.raw(t+" IDLE\r\n", "")
	if r.err != nil || !strings.HasPrefix(r.untagged[0], "+") {
		return fail(r, "no continuation request for IDLE")
	}
	if err := change(); err != nil {
		return err
	}
	re := regexp.MustCompile("(?i)" + want)
	got := &resp{cmd: t + " IDLE (waiting for " + want + ")"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		line, err := c.readOne(time.Until(deadline))
		if err != nil {
			got.err = err
			return fail(got, "nothing matching %s during IDLE", want)
		}
		got.untagged = append(got.untagged, line)
		if re.MatchString(line) {
			break
		}
	}
	done := c.raw("DONE\r\n", t)
	return must(done, "DONE")
}

// IDLE: RFC 2177.
func idleGroup() group {
	return group{name: "idle", needs: []string{"IDLE"}, checks: []check{
		{name: "IDLE gets a continuation; DONE ends it with OK", rfc: "RFC 2177 §3", run: func(e *env) error {
			c, _, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			t := c.tag()
			r := c.raw(t+" IDLE\r\n", "")
			if !strings.HasPrefix(r.untagged[0], "+") {
				return fail(r, "want + continuation")
			}
			return must(c.raw("DONE\r\n", t), "DONE")
		}},
		{name: "a message appended elsewhere arrives as * n EXISTS during IDLE", rfc: "RFC 2177 §3", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			return idleWait(e, a, func() error {
				return must(b.withLiteral("APPEND "+box+" ", []byte(msgGroups), ""), "APPEND")
			}, `^\* 2 EXISTS$`)
		}},
		{name: "a flag change elsewhere arrives as * n FETCH during IDLE", rfc: "RFC 2177 §3", run: func(e *env) error {
			a, box, err := e.selected(msgPlain)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			return idleWait(e, a, func() error {
				return must(b.do(`STORE 1 +FLAGS.SILENT (\Flagged)`), "STORE")
			}, `^\* 1 FETCH .*\\Flagged`)
		}},
		{name: "an expunge elsewhere arrives as * n EXPUNGE during IDLE", rfc: "RFC 2177 §3", run: func(e *env) error {
			a, box, err := e.selected(msgPlain, msgGroups)
			if err != nil {
				return err
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			return idleWait(e, a, func() error {
				b.do(`STORE 2 +FLAGS.SILENT (\Deleted)`)
				return must(b.do("EXPUNGE"), "EXPUNGE")
			}, `^\* 2 EXPUNGE$`)
		}},
	}}
}
