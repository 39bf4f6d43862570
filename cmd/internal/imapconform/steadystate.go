package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// bigCount is the steady-state mailbox's size.
const bigCount = 10000

// bulkAppend appends n small distinct messages to box, as fast as the
// server allows: with LITERAL+ the APPENDs are written in one pipelined
// stream (a goroutine writes while the caller reads the completions),
// batched by MULTIAPPEND where offered (Dovecot's Maildir saves one
// APPEND per transaction, tens of milliseconds each on a 10,000-message
// mailbox); without LITERAL+ one synchronising APPEND after another.
// RFC 7888 §3, RFC 3502 §6.3.11, RFC 3501 §5.5.
func bulkAppend(c *conn, box string, n int, caps map[string]bool) error {
	msg := func(i int) string {
		return crlf(fmt.Sprintf("From: bulk%d@example.org\nTo: mary@example.net\nSubject: bulk %d\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <bulk%d@example.org>\n\nBulk message %d.\n", i%97, i, i, i))
	}
	r := &resp{cmd: fmt.Sprintf("(%d APPENDs to %s)", n, box)}
	*c.log = append(*c.log, r)
	if !caps["LITERAL+"] {
		for i := 1; i <= n; i++ {
			if x := c.withLiteral("APPEND "+box+" ", []byte(msg(i)), ""); x.status != "OK" {
				return fail(x, "APPEND %d of %d failed", i, n)
			}
		}
		return nil
	}
	batch := 1
	if caps["MULTIAPPEND"] {
		batch = 500
	}
	commands := (n + batch - 1) / batch
	c.nc.SetDeadline(time.Now().Add(10 * time.Minute))
	defer c.nc.SetDeadline(time.Now().Add(c.timeout))
	werr := make(chan error, 1)
	go func() {
		var b strings.Builder
		for k := 0; k < commands; k++ {
			fmt.Fprintf(&b, "B%05d APPEND %s", k+1, box)
			for i := k*batch + 1; i <= min(n, (k+1)*batch); i++ {
				m := msg(i)
				fmt.Fprintf(&b, " {%d+}\r\n%s", len(m), m)
			}
			b.WriteString("\r\n")
			if b.Len() > 64<<10 || k == commands-1 {
				if _, err := c.nc.Write([]byte(b.String())); err != nil {
					werr <- err
					return
				}
				b.Reset()
			}
		}
		werr <- nil
	}()
	ok, last := 0, fmt.Sprintf("B%05d", commands)
	for {
		line, err := readResponse(c.r)
		if err != nil {
			r.err = err
			return fail(r, "after %d of %d APPEND commands completed: %v", ok, commands, err)
		}
		if !strings.HasPrefix(line, "B") {
			continue
		}
		tag, rest, _ := strings.Cut(line, " ")
		if st, _, _ := strings.Cut(rest, " "); strings.EqualFold(st, "OK") {
			ok++
		} else if len(r.untagged) < 5 {
			r.untagged = append(r.untagged, line)
		}
		if tag == last {
			r.tagged, r.status = line, "OK"
			break
		}
	}
	if err := <-werr; err != nil {
		return fail(r, "writing the APPENDs: %v", err)
	}
	if ok != commands {
		return fail(r, "%d of %d APPEND commands answered OK", ok, commands)
	}
	return nil
}

// steadyChanges are the UIDs a second session changes and how.
var steadyChanges = []struct {
	uids, flags string
}{
	{"7,1003,2222,3333,4444", `\Flagged`},
	{"5555,6666,7777", `\Seen`},
	{"8888,9999", `$NotJunk`},
}

// steadystate: Thunderbird's resynchronisation on a big mailbox. Only
// with -big or -group steadystate.
func steadyStateGroup() group {
	return group{name: "steadystate", big: true, needs: []string{"CONDSTORE"}, checks: []check{
		{name: "on 10,000 messages, UID FETCH 1:* (FLAGS) (CHANGEDSINCE n) after 10 changes by another session returns exactly those 10", rfc: "RFC 7162 §3.1.4.1, issue 16 (Thunderbird's steady state)", run: func(e *env) error {
			c, err := e.login()
			if err != nil {
				return err
			}
			box, err := e.fresh(c)
			if err != nil {
				return err
			}
			start := time.Now()
			if err := bulkAppend(c, box, bigCount, e.t.caps); err != nil {
				return err
			}
			appended := time.Since(start)
			sel := c.do("SELECT " + box + " (CONDSTORE)")
			h := highestModseq(sel)
			if count(sel, "EXISTS") != bigCount || h < 1 || number(sel.find(`^\* OK \[UIDNEXT `), `UIDNEXT `) != bigCount+1 {
				return fail(sel, "want * %d EXISTS, UIDNEXT %d and HIGHESTMODSEQ", bigCount, bigCount+1)
			}
			b, err := e.login()
			if err != nil {
				return err
			}
			b.do("SELECT " + box)
			var want []int64
			for _, ch := range steadyChanges {
				if err := must(b.do("UID STORE "+ch.uids+" +FLAGS.SILENT ("+ch.flags+")"), "UID STORE by the other session"); err != nil {
					return err
				}
				for _, u := range strings.Split(ch.uids, ",") {
					want = append(want, number(u, ``))
				}
			}
			// A client coming back, as Thunderbird does at start.
			t, err := e.login()
			if err != nil {
				return err
			}
			t.do("SELECT " + box + " (CONDSTORE)")
			start = time.Now()
			r := t.do("UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + i64(h) + ")")
			fetched := time.Since(start)
			logf("steadystate: %s: %d APPENDs in %v, UID FETCH CHANGEDSINCE in %v", e.t.name, bigCount, appended.Round(time.Millisecond), fetched.Round(time.Millisecond))
			got := uidsIn(r)
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			if fmt.Sprint(got) != fmt.Sprint(want) || len(r.all(`^\* \d+ FETCH`)) != len(want) {
				return fail(r, "want FETCH for exactly UIDs %v, got %v", want, got)
			}
			for _, u := range r.all(`^\* \d+ FETCH`) {
				if !strings.Contains(strings.ToUpper(u), "MODSEQ (") {
					return fail(r, "FETCH without MODSEQ: %s", u)
				}
			}
			return must(r, "UID FETCH (CHANGEDSINCE)")
		}},
	}}
}
