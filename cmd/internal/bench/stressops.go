package main

// The operations of the stress mix (stress.go) and their weights.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stressOp is one kind of operation in the mix with its weight.
type stressOp struct {
	name   string
	weight int
	run    func(c *stressClient) error
}

// stressMix is weighted like a desktop client on a busy mailbox: mostly
// flag syncs and header/body fetches, then flag changes, searches,
// polls; new mail (APPEND) about balances the removals (MOVE, EXPUNGE)
// so the mailbox keeps its size.
var stressMix = []stressOp{
	{"UID FETCH FLAGS (range)", 18, opFetchFlags},
	{"UID FETCH ENVELOPE (last 20)", 14, opFetchEnvelope},
	{"UID FETCH BODY[] + RFC822.SIZE", 12, opFetchBody},
	{"UID FETCH BODYSTRUCTURE + parts", 8, opFetchParts},
	{"UID STORE +/-FLAGS", 16, opStore},
	{"SEARCH", 8, opSearch},
	{"NOOP", 8, opNoop},
	{"IDLE", 3, opIdle},
	{"APPEND", 5, opAppend},
	{"UID COPY", 2, opCopy},
	{"UID MOVE", 2, opMove},
	{"UID EXPUNGE / EXPUNGE", 3, opExpunge},
}

// keywords the load sets besides system flags.
var stressKeywords = []string{"$Forwarded", "$Junk", "$NotJunk", "$Label1", "stress"}

func opFetchFlags(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	_, err := c.cmd("UID FETCH", false, "UID FETCH %d:* (FLAGS)", u)
	return err
}

func opFetchEnvelope(c *stressClient) error {
	n := len(c.model.uids)
	if n == 0 {
		return opNoop(c)
	}
	lo := c.model.uids[max(0, n-20)]
	if lo == 0 {
		lo = 1
	}
	_, err := c.cmd("UID FETCH", false, "UID FETCH %d:* (UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (References List-Id)])", lo)
	return err
}

func opFetchBody(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	_, err := c.cmd("UID FETCH", false, "UID FETCH %d (RFC822.SIZE BODY.PEEK[])", u)
	return err
}

func opFetchParts(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	_, err := c.cmd("UID FETCH", false, "UID FETCH %d (BODYSTRUCTURE BODY.PEEK[HEADER] BODY.PEEK[1]<0.2048>)", u)
	return err
}

func opStore(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	// own is a keyword only this client sets, so no other session's
	// change can explain a reply without it.
	own := fmt.Sprintf("own%d", c.id)
	var flag string
	switch k := c.rng.IntN(10); {
	case k < 4:
		flag = `\Seen`
	case k < 6:
		flag = `\Flagged`
	case k < 7:
		flag = `\Answered`
	case k < 9:
		flag = stressKeywords[c.rng.IntN(len(stressKeywords))]
	default:
		flag = own
	}
	sign := "+"
	if c.rng.IntN(2) == 0 {
		sign = "-"
	}
	c.model.watchUID, c.model.watched = u, nil
	defer func() { c.model.watchUID, c.model.watched = 0, nil }()
	r, err := c.cmd("UID STORE", false, "UID STORE %d %sFLAGS (%s)", u, sign, flag)
	if err != nil || r.word != "OK" || len(c.model.watched) == 0 || flag != own {
		return err // no FETCH back (expunged meanwhile), or not checkable
	}
	// RFC 9051 §6.4.6: the reply shows the flags after the change. Older
	// updates queued by other sessions may come before it, but the last
	// FETCH for the message is what the client keeps, and it must show
	// the change.
	last := c.model.watched[len(c.model.watched)-1]
	if slices.Contains(last, own) != (sign == "+") {
		var seen []string
		for _, fs := range c.model.watched {
			seen = append(seen, "("+strings.Join(fs, " ")+")")
		}
		c.model.cmd = "UID STORE"
		c.protoError(errStoreNotShown, fmt.Sprintf("UID STORE %d %sFLAGS (%s) answered FLAGS %s", u, sign, flag, strings.Join(seen, ", ")))
		c.model.cmd = ""
	}
	return nil
}

func opSearch(c *stressClient) error {
	var err error
	switch c.rng.IntN(4) {
	case 0:
		_, err = c.cmd("SEARCH", false, "SEARCH UNSEEN")
	case 1:
		_, err = c.cmd("UID SEARCH", false, "UID SEARCH FLAGGED")
	case 2:
		_, err = c.cmd("UID SEARCH", false, "UID SEARCH SUBJECT %s", quote(words[c.rng.IntN(len(words))]))
	default:
		_, err = c.cmd("UID SEARCH", false, "UID SEARCH KEYWORD %s", stressKeywords[c.rng.IntN(len(stressKeywords))])
	}
	return err
}

func opNoop(c *stressClient) error {
	_, err := c.cmd("NOOP", false, "NOOP")
	return err
}

// opIdle idles briefly (RFC 2177), as a client waiting for new mail
// between other work, and reads what arrives.
func opIdle(c *stressClient) error {
	if !c.caps["IDLE"] {
		return opNoop(c)
	}
	tag, err := c.send("IDLE")
	if err != nil {
		return fmt.Errorf("%w: %v", errFatal, err)
	}
	c.model.cmd = "IDLE"
	for {
		resp, err := c.read()
		if err != nil {
			return err
		}
		if resp == nil || resp.tag == "*" {
			continue
		}
		if resp.tag == "+" {
			break
		}
		c.protoError(errBadToValid, "IDLE: "+trunc(resp.raw, 120))
		return nil
	}
	// Idle a short while (20-100 ms: long enough for other sessions'
	// changes to be pushed, short enough not to idle the load away),
	// then DONE; what the server pushed meanwhile waits in the socket and
	// is read (and checked) before the tagged OK.
	time.Sleep(time.Duration(20+c.rng.IntN(80)) * time.Millisecond)
	c.note("C: ", "DONE")
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	c.w.WriteString("DONE\r\n")
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("%w: %v", errFatal, err)
	}
	_, err = c.wait("IDLE", tag, false)
	return err
}

// opAppend adds a new message (2-6 KiB) with a flag or keyword, as new
// mail or a saved draft, and checks APPENDUID (RFC 4315).
func opAppend(c *stressClient) error {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Stress %d <stress%d@example.net>\r\nTo: %s\r\nSubject: stress %s %d\r\nDate: %s\r\nMessage-ID: <%d.%d.stress@example.net>\r\n\r\n",
		c.id, c.id, c.opts.User, words[c.rng.IntN(len(words))], c.tag, time.Now().Format(time.RFC1123Z), c.id, c.rng.Uint64())
	size := 2048 + c.rng.IntN(4096)
	for b.Len() < size {
		b.WriteString(words[c.rng.IntN(len(words))])
		b.WriteString(" stress load line\r\n")
	}
	msg := b.String()
	flags := []string{"", `\Seen`, `\Draft`, "$Label1"}[c.rng.IntN(4)]
	before := c.model.maxUID
	tag, err := c.send("APPEND %s (%s) {%d}", quote(c.opts.Mailbox), flags, len(msg))
	if err != nil {
		return fmt.Errorf("%w: %v", errFatal, err)
	}
	c.model.cmd = "APPEND"
	for {
		resp, err := c.read()
		if err != nil {
			return err
		}
		if resp == nil || resp.tag == "*" {
			continue
		}
		if resp.tag == "+" {
			break
		}
		c.protoError(errNoToValid, "APPEND refused: "+trunc(resp.raw, 120))
		return nil
	}
	c.note("C: ", fmt.Sprintf("{%d bytes}", len(msg)))
	c.w.WriteString(msg + "\r\n")
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("%w: %v", errFatal, err)
	}
	resp, err := c.wait("APPEND", tag, false)
	if err != nil || resp.word != "OK" {
		return err
	}
	if c.code == "APPENDUID" && len(c.codeArgs) == 2 {
		v, _ := strconv.ParseUint(c.codeArgs[0].atom, 10, 32)
		if u, err := strconv.ParseUint(c.codeArgs[1].atom, 10, 32); err != nil {
			c.protoError(errMalformedResp, "APPENDUID "+trunc(resp.raw, 80))
		} else if c.model.validity != 0 && uint32(v) != c.model.validity {
			c.protoError(errUIDValidity, fmt.Sprintf("APPENDUID %d %d, SELECT said UIDVALIDITY %d", v, u, c.model.validity))
		} else if uint32(u) <= before {
			c.protoError(errUIDBackwards, fmt.Sprintf("APPENDUID %d, UID %d seen before the APPEND", u, before))
		}
	}
	return nil
}

func opCopy(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	_, err := c.cmd("UID COPY", false, "UID COPY %d %s", u, quote(c.opts.Target))
	return err
}

func opMove(c *stressClient) error {
	u := c.pickUID()
	if u == 0 || !c.caps["MOVE"] {
		return opCopy(c)
	}
	_, err := c.cmd("UID MOVE", false, "UID MOVE %d %s", u, quote(c.opts.Target))
	return err
}

// opExpunge marks one message \Deleted and removes it: UID EXPUNGE
// (RFC 4315) when offered, else EXPUNGE (which also removes what other
// sessions marked).
func opExpunge(c *stressClient) error {
	u := c.pickUID()
	if u == 0 {
		return opNoop(c)
	}
	if _, err := c.cmd("UID STORE", false, `UID STORE %d +FLAGS.SILENT (\Deleted)`, u); err != nil {
		return err
	}
	var err error
	if c.caps["UIDPLUS"] && c.rng.IntN(4) != 0 {
		_, err = c.cmd("UID EXPUNGE", false, "UID EXPUNGE %d", u)
	} else {
		_, err = c.cmd("EXPUNGE", false, "EXPUNGE")
	}
	return err
}
