package e2e

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// endOfDataVariants are the non-standard ends of data SMTP smuggling
// (2023) relies on: a server that takes one of them for <CR><LF>.<CR><LF>
// while the next hop does not (or the other way round) turns the rest of
// the data into a second transaction. reply is Yubin's answer at the
// real end of data: a bare CR refuses the message; a bare LF is a line
// end; a line of a dot ended by a bare LF or CR is refused too (go-smtp's
// reader would unstuff it, quietly dropping bytes; see smtpd/dataguard.go).
var endOfDataVariants = []struct{ seq, reply string }{
	{"\n.\n", "250"},
	{"\n.\r\n", "250"},
	{"\r.\r", "554 5.6.0"},
	{"\r.\r\n", "554 5.6.0"},
	{"\r\n.\r", "554 5.6.0"},
	{"\r\n.\n", "554 5.6.0"},
	{"\r.\n", "554 5.6.0"},
	{"\n.\r", "554 5.6.0"},
}

// TestSmugglingEndOfData sends each variant followed by a smuggled second
// transaction, to a local mailbox and through an alias to Postfix as the
// next hop (Postfix refusing bare LFs, as a strict MX does). Each produces
// at most one message, in Yubin's mailbox and at Postfix, and never the
// smuggled one on its own; the variants with a bare CR are refused with
// 554 5.6.0.
func TestSmugglingEndOfData(t *testing.T) {
	t.Parallel()
	pf := startPostfix(t, "smtpd_forbid_bare_newline = reject", "smtpd_forbid_bare_newline_exclusions =")
	dns := startDNS(t, remoteZone(pf.Domain)...)
	s := startServer(t, "",
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(pf.Port))
	s.addUser("alice@acme.test")
	s.mustMailctl("", "alias", "add", "fwd@acme.test", "bob@remote.test")

	accepted := 0
	for i, variant := range endOfDataVariants {
		v := variant.seq
		c, err := net.DialTimeout("tcp", s.smtpAddr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		// The whole conversation at once, as an attacker pipelines it:
		// the replies then show how the server split it.
		conv := "EHLO attacker.test\r\nMAIL FROM:<sender@client.test>\r\nRCPT TO:<alice@acme.test>\r\nRCPT TO:<fwd@acme.test>\r\nDATA\r\n"
		data := fmt.Sprintf("Subject: smuggle-%d\r\n\r\nfirst%sMAIL FROM:<evil@client.test>\r\nRCPT TO:<alice@acme.test>\r\nRCPT TO:<fwd@acme.test>\r\nDATA\r\nSubject: smuggled-%d\r\n\r\nsecond\r\n.\r\nQUIT\r\n", i, v, i)
		var replies []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l = strings.TrimRight(l, "\r\n"); len(l) >= 4 && l[3] != '-' {
					replies = append(replies, l)
				}
			}
		}()
		fmt.Fprint(c, conv)
		fmt.Fprint(c, data)
		<-done
		c.Close()
		// greeting, EHLO, MAIL, RCPT, RCPT, 354, end of data, QUIT
		if len(replies) != 8 || !strings.HasPrefix(replies[5], "354") || !strings.HasPrefix(replies[7], "221") {
			t.Fatalf("variant %q: replies %q (want one transaction)", v, replies)
		}
		end := replies[6]
		if !strings.HasPrefix(end, variant.reply) {
			t.Errorf("variant %q: %q, want %s", v, end, variant.reply)
		}
		if strings.HasPrefix(end, "250") {
			accepted++
		}
		t.Logf("variant %q: %s", v, end)
	}
	if accepted > 0 {
		s.waitDelivered("alice@acme.test", accepted)
		pf.WaitMaildir("bob", accepted)
	}
	// Settled: nothing queued for the smuggled envelope.
	s.waitQueueEmpty(60 * time.Second)

	subject := regexp.MustCompile(`(?m)^Subject: (smuggle[a-z]*-\d+)\r?$`)
	for where, msgs := range map[string][]string{"Yubin": s.newFiles("alice@acme.test"), "Postfix": pf.Maildir("bob")} {
		if len(msgs) != accepted {
			t.Errorf("%s has %d messages, want %d", where, len(msgs), accepted)
		}
		seen := map[string]int{}
		for _, m := range msgs {
			head, _, _ := strings.Cut(strings.ReplaceAll(m, "\r\n", "\n"), "\n\n")
			sm := subject.FindStringSubmatch(head)
			if sm == nil {
				t.Errorf("%s: a message without a test subject:\n%s", where, m)
				continue
			}
			if strings.HasPrefix(sm[1], "smuggled") {
				t.Errorf("%s: the smuggled transaction became a message:\n%s", where, m)
			}
			if seen[sm[1]]++; seen[sm[1]] > 1 {
				t.Errorf("%s: %s twice", where, sm[1])
			}
			if strings.Contains(m, "\r") && where == "Postfix" {
				t.Errorf("Postfix got a bare CR:\n%q", m)
			}
		}
	}
}

// TestAmbiguousEndOfDataUnderTLS: the data guard sees the plain text of
// STARTTLS and implicit TLS connections too, and a refusal leaves the
// connection usable for a clean message.
func TestAmbiguousEndOfDataUnderTLS(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	for _, implicit := range []bool{false, true} {
		addr := s.addrs["submission"]
		if implicit {
			addr = s.addrs["submissions"]
		}
		w := dialWire(t, addr, "alice@acme.test", implicit)
		for _, v := range []string{"\r\n.\n", "\r\n.\rX"} {
			data := "Subject: tls\r\n\r\nfirst" + v + "MAIL FROM:<evil@acme.test>\r\n.\r\n"
			if r := w.send("alice@acme.test", "alice@acme.test", []byte(data)); !strings.HasPrefix(r, "554 5.6.0") {
				t.Errorf("implicit TLS %v, %q: %q, want 554 5.6.0", implicit, v, r)
			}
		}
		// The refusal was for those messages: a clean one on the same
		// connection is delivered.
		if r := w.send("alice@acme.test", "alice@acme.test", []byte("Subject: clean\r\n\r\n..dot\r\n.\r\n")); !strings.HasPrefix(r, "250") {
			t.Fatalf("implicit TLS %v, clean message: %q", implicit, r)
		}
	}
	s.waitDelivered("alice@acme.test", 2)
}
