package main

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// group is one command family's checks.
type group struct {
	name   string
	checks []check
	// needs names capabilities (upper case) the server must advertise
	// after login for the group to run; without them every check is
	// "not advertised", which is neither a pass nor a failure.
	needs []string
	// big marks a slow group (a large mailbox) that runs only with -big
	// or when -group names it.
	big bool
}

// check is one requirement from an RFC's text. run drives the server
// and returns nil when the server did what the RFC says.
type check struct {
	name string
	rfc  string // "RFC 3501 §6.3.1"
	run  func(e *env) error
	// needs, like group.needs, for one check.
	needs []string
	// unless makes the check not applicable (reported like "not
	// advertised", with unlessWhy) on a server that advertises it: for
	// behaviour an extension's RFC changes.
	unless, unlessWhy string
	// exempt, when set, says why the reference server (Dovecot) may
	// fail this check: where it deviates from the RFC, with the section.
	// A failure there is then "exempt"; on any other server it is a
	// failure.
	exempt string
}

// target is a server under test: any IMAP server on a plaintext port
// with a user whose password is known.
type target struct {
	name, addr, user, pass string
	// reference is the server checks are validated against (Dovecot):
	// only there does a check's exempt apply.
	reference bool
	// caps is what the server advertises after LOGIN (upper case).
	caps map[string]bool
}

// advertises reports whether t lists every capability in needs, and the
// first one missing.
func (t target) advertises(needs []string) (bool, string) {
	for _, n := range needs {
		if !t.caps[n] {
			return false, n
		}
	}
	return true, ""
}

// env is what a check gets: the target, a log of the exchanges it made
// (shown on failure) and helpers.
type env struct {
	t     target
	group string
	log   []*resp
	conns []*conn
	seq   *atomic.Int64
}

// failure is a check's verdict with the exchange that shows it.
type failure struct {
	why string
	r   *resp
}

func (f *failure) Error() string { return f.why }

// fail says why a check failed; r is the exchange that shows it (nil:
// the last one made).
func fail(r *resp, format string, args ...any) error {
	return &failure{why: fmt.Sprintf(format, args...), r: r}
}

// dial opens an unauthenticated connection.
func (e *env) dial() (*conn, error) {
	c, err := dial(e.t.addr, &e.log)
	if err != nil {
		return nil, err
	}
	e.conns = append(e.conns, c)
	return c, nil
}

// login opens a connection and logs in.
func (e *env) login() (*conn, error) {
	c, err := e.dial()
	if err != nil {
		return nil, err
	}
	if r := c.do("LOGIN " + quote(e.t.user) + " " + quote(e.t.pass)); r.status != "OK" {
		return nil, fail(r, "LOGIN failed")
	}
	return c, nil
}

// box returns a mailbox name no other check uses in this run.
func (e *env) box() string {
	return fmt.Sprintf("cf-%s-%d", e.group, e.seq.Add(1))
}

// fresh creates a new mailbox on c, fills it by APPEND with msgs (and
// their flag lists, when given as "(\\Seen) " prefixes are not needed:
// each msg is appended without flags) and returns its name.
func (e *env) fresh(c *conn, msgs ...string) (string, error) {
	name := e.box()
	if r := c.do("CREATE " + name); r.status != "OK" {
		return "", fail(r, "CREATE failed")
	}
	for _, m := range msgs {
		if r := c.withLiteral("APPEND "+name+" ", []byte(m), ""); r.status != "OK" {
			return "", fail(r, "APPEND failed")
		}
	}
	return name, nil
}

// selected logs in, fills a fresh mailbox and SELECTs it.
func (e *env) selected(msgs ...string) (*conn, string, error) {
	c, err := e.login()
	if err != nil {
		return nil, "", err
	}
	name, err := e.fresh(c, msgs...)
	if err != nil {
		return nil, "", err
	}
	if r := c.do("SELECT " + name); r.status != "OK" {
		return nil, "", fail(r, "SELECT failed")
	}
	return c, name, nil
}

// must turns a non-OK completion into a failure.
func must(r *resp, what string) error {
	if r.status != "OK" {
		return fail(r, "%s: expected OK, got %s", what, orNone(r.status))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no tagged response"
	}
	return s
}

func (e *env) close() {
	for _, c := range e.conns {
		c.close()
	}
}

// state is a check's outcome on one server.
type state string

const (
	statePass   state = "pass"
	stateFail   state = "fail"
	stateExempt state = "exempt" // failed on the reference, with a documented reason
	stateNA     state = "not advertised"
)

// result of one check on one server.
type result struct {
	group, check, rfc string
	state             state
	err               error
	note              string  // why not advertised, or the exemption
	exch              []*resp // the exchanges that show the failure, last one decisive
}

func runGroup(t target, g group, seq *atomic.Int64) []result {
	var out []result
	for _, ch := range g.checks {
		res := result{group: g.name, check: ch.name, rfc: ch.rfc}
		if ok, miss := t.advertises(append(append([]string{}, g.needs...), ch.needs...)); !ok {
			res.state, res.note = stateNA, miss+" not advertised"
			out = append(out, res)
			continue
		}
		if ch.unless != "" && t.caps[ch.unless] {
			res.state, res.note = stateNA, ch.unless+" advertised: "+ch.unlessWhy
			out = append(out, res)
			continue
		}
		e := &env{t: t, group: g.name, seq: seq}
		err := safeRun(ch.run, e)
		res.err, res.state = err, statePass
		if err != nil {
			res.state = stateFail
			res.exch = evidence(e.log, err)
			if t.reference && ch.exempt != "" {
				res.state, res.note = stateExempt, ch.exempt
			}
		}
		e.close()
		out = append(out, res)
	}
	return out
}

// evidence picks what the report shows for a failure: the exchange the
// check named (or the last one) and up to two exchanges before it.
func evidence(log []*resp, err error) []*resp {
	end := len(log)
	if f, ok := err.(*failure); ok && f.r != nil {
		end = -1
		for i, r := range log {
			if r == f.r {
				end = i + 1
			}
		}
		if end < 0 { // made up by the check (IDLE, greeting)
			return append(tail(log, 2), f.r)
		}
	}
	return tail(log[:end], 3)
}

func tail(log []*resp, n int) []*resp {
	if len(log) > n {
		return log[len(log)-n:]
	}
	return log
}

func safeRun(f func(*env) error, e *env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("runner panic: %v", p)
		}
	}()
	return f(e)
}

// quote makes an IMAP quoted string. RFC 3501 §4.3
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
