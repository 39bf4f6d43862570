package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// relayTrick is one classic attempt to make a server relay: the HELO
// name, the reverse path and the forward path, as sent on the wire.
type relayTrick struct {
	name, helo, from, rcpt string
	auth                   string // raw AUTH line to try first ("" = none)
}

// relayTricks target acme.test (local) and victim.example (not ours).
var relayTricks = []relayTrick{
	{"plain remote", "client.example", "<spam@spammer.example>", "<victim@victim.example>", ""},
	{"percent hack", "client.example", "<spam@spammer.example>", "<victim%victim.example@acme.test>", ""},
	{"source route", "client.example", "<spam@spammer.example>", "<@acme.test:victim@victim.example>", ""},
	{"source route two hops", "client.example", "<spam@spammer.example>", "<@acme.test,@mail.example.test:victim@victim.example>", ""},
	{"quoted local part", "client.example", "<spam@spammer.example>", "<\"victim@victim.example\"@acme.test>", ""},
	{"double at", "client.example", "<spam@spammer.example>", "<victim@victim.example@acme.test>", ""},
	{"bang path", "client.example", "<spam@spammer.example>", "<victim.example!victim@acme.test>", ""},
	{"bang path without domain", "client.example", "<spam@spammer.example>", "<victim.example!victim>", ""},
	{"local sender", "client.example", "<postmaster@acme.test>", "<victim@victim.example>", ""},
	{"local HELO", "acme.test", "<spam@spammer.example>", "<victim@victim.example>", ""},
	{"our hostname as HELO", "mail.example.test", "<postmaster@acme.test>", "<victim@victim.example>", ""},
	{"localhost HELO", "localhost", "<spam@spammer.example>", "<victim@victim.example>", ""},
	{"loopback literal HELO", "[127.0.0.1]", "<root@localhost>", "<victim@victim.example>", ""},
	{"remote sender to itself", "victim.example", "<victim@victim.example>", "<victim@victim.example>", ""},
	{"IP literal", "client.example", "<spam@spammer.example>", "<victim@[192.0.2.1]>", ""},
	{"loopback IP literal", "client.example", "<spam@spammer.example>", "<victim@[127.0.0.1]>", ""},
	{"IPv6 literal", "client.example", "<spam@spammer.example>", "<victim@[IPv6:::1]>", ""},
	{"percent at loopback literal", "client.example", "<spam@spammer.example>", "<victim%victim.example@[127.0.0.1]>", ""},
	{"uppercase domain", "client.example", "<spam@spammer.example>", "<victim@VICTIM.EXAMPLE>", ""},
	{"trailing dot", "client.example", "<spam@spammer.example>", "<victim@victim.example.>", ""},
	{"uppercase trailing dot", "client.example", "<spam@spammer.example>", "<victim@Victim.Example.>", ""},
	{"local domain as prefix", "client.example", "<spam@spammer.example>", "<victim@acme.test.victim.example>", ""},
	{"null sender to remote", "client.example", "<>", "<victim@victim.example>", ""},
	{"localhost domain", "client.example", "<spam@spammer.example>", "<victim@localhost>", ""},
	{"percent at localhost", "client.example", "<spam@spammer.example>", "<victim%victim.example@localhost>", ""},
	{"no angle brackets", "client.example", "spam@spammer.example", "victim@victim.example", ""},
	{"address list", "client.example", "<spam@spammer.example>", "<alice@acme.test,victim@victim.example>", ""},
	{"unquoted space", "client.example", "<spam@spammer.example>", "<victim@victim.example alice@acme.test>", ""},
	{"our hostname domain", "client.example", "<spam@spammer.example>", "<victim%victim.example@mail.example.test>", ""},
	{"MAIL AUTH parameter", "client.example", "<alice@acme.test> AUTH=<alice@acme.test>", "<victim@victim.example>", ""},
	{"failed AUTH first", "client.example", "<alice@acme.test>", "<victim@victim.example>", "AUTH PLAIN AGFsaWNlQGFjbWUudGVzdAB3cm9uZw=="},
}

// TestOpenRelay runs every trick against 25, 587 and 465 without a valid
// login: each is refused with a 4xx/5xx at MAIL or RCPT (or the DATA that
// follows) and nothing reaches the queue.
func TestOpenRelay(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.max_errors = 100`)
	s.addUser("alice@acme.test")
	if len(relayTricks) < 25 {
		t.Fatalf("only %d tricks", len(relayTricks))
	}
	for _, listener := range []string{"smtp", "submission", "submissions"} {
		for _, tr := range relayTricks {
			if accepted := tryRelay(t, s.addrs[listener], listener == "submissions", tr); accepted != "" {
				t.Errorf("%s: %q relayed: %s", listener, tr.name, accepted)
			}
		}
	}
	for _, e := range s.logs.all() {
		if m := e.str("msg"); m == "accepted" || m == "queued" {
			t.Errorf("message accepted: %v", e)
		}
	}
	out := s.mustMailctl("", "queue", "list")
	if strings.Count(strings.TrimSpace(out), "\n") > 0 || strings.Contains(out, "@") {
		t.Errorf("queue not empty:\n%s", out)
	}
	// The probe itself works: mail for a local user is accepted.
	if tryRelay(t, s.addrs["smtp"], false, relayTrick{"control", "client.example", "<x@remote.example>", "<alice@acme.test>", ""}) == "" {
		t.Error("control message to a local user was not accepted: the probe is broken")
	}
}

// tryRelay runs one trick and returns a description when the server
// accepted the message, "" when it refused it.
func tryRelay(t *testing.T, addr string, implicitTLS bool, tr relayTrick) string {
	t.Helper()
	var c net.Conn
	var err error
	if implicitTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	reply := func() string {
		var last string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return "EOF"
			}
			last = strings.TrimRight(l, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	cmd := func(line string) string {
		fmt.Fprintf(c, "%s\r\n", line)
		return reply()
	}
	if g := reply(); !strings.HasPrefix(g, "220") {
		return ""
	}
	if !strings.HasPrefix(cmd("EHLO "+tr.helo), "250") {
		return ""
	}
	if tr.auth != "" {
		if a := cmd(tr.auth); strings.HasPrefix(a, "235") {
			return "AUTH with a wrong password succeeded: " + a
		}
	}
	if m := cmd("MAIL FROM:" + tr.from); !strings.HasPrefix(m, "250") {
		return ""
	}
	if rc := cmd("RCPT TO:" + tr.rcpt); !strings.HasPrefix(rc, "250") {
		return ""
	}
	if d := cmd("DATA"); !strings.HasPrefix(d, "354") {
		return ""
	}
	if end := cmd("Subject: relay test\r\n\r\nrelay\r\n."); strings.HasPrefix(end, "250") {
		return "DATA accepted: " + end
	}
	return ""
}
