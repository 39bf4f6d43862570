package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOutboundCanonicalPostfix: what Yubin sends to a next hop (an alias
// forward, a submission to a remote address) has no bare CR or LF,
// whatever line ends the sender used. Postfix plays the remote MX and
// refuses bare LFs (smtpd_forbid_bare_newline = reject); a bare CR it
// would store, so its Maildir files (LF line ends) must hold no CR.
func TestOutboundCanonicalPostfix(t *testing.T) {
	t.Parallel()
	pf := startPostfix(t, "smtpd_forbid_bare_newline = reject", "smtpd_forbid_bare_newline_exclusions =")
	dns := startDNS(t, remoteZone(pf.Domain)...)
	s := startServer(t, "",
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(pf.Port))
	s.addUser("alice@acme.test")
	s.mustMailctl("", "alias", "add", "fwd@acme.test", "bob@remote.test")

	bodies := []string{
		"bare LF\nlines\n.\n..two dots\nno end",
		"CRLF\r\n.\r\nwith a dot line\r\n",
		"mixed\r\nends\n\n" + strings.Repeat("y", 1500) + "\r\nend\n",
		"bare CR\rinside\r\n",
		"first\r.\r\nMAIL FROM:<evil@client.test>\r\n",
	}
	mx := dialWireSMTP(t, s.smtpAddr(), "")
	sub := dialWireSMTP(t, s.addrs["submission"], "alice@acme.test")
	want := map[string]string{}
	for i, b := range bodies {
		for j, w := range []*wireSMTP{mx, sub} {
			id := fmt.Sprintf("out-%d-%d", i, j)
			msg := []byte("From: alice@acme.test\r\nTo: bob@remote.test\r\nSubject: " + id + "\r\n\r\n" + b)
			data, received := dotStuff(msg)
			canon, bareCR := canonicalForm(received)
			rcpt := "fwd@acme.test"
			if j == 1 {
				rcpt = "bob@remote.test"
			}
			r := w.send("alice@acme.test", rcpt, data)
			switch {
			case bareCR && !strings.HasPrefix(r, "554 5.6.0"):
				t.Errorf("%s with a bare CR: %q, want 554 5.6.0", id, r)
			case !bareCR && !strings.HasPrefix(r, "250"):
				t.Errorf("%s: %q", id, r)
			case !bareCR:
				_, body, _ := strings.Cut(string(canon), "\r\n\r\n")
				want[id] = strings.ReplaceAll(body, "\r\n", "\n") // Postfix stores LF
			}
		}
	}
	pf.WaitMaildir("bob", len(want))
	s.waitQueueEmpty(60 * time.Second) // and nothing more on its way
	got := pf.Maildir("bob")
	if len(got) != len(want) {
		t.Errorf("Postfix has %d messages, want %d", len(got), len(want))
	}
	for _, m := range got {
		if i := strings.IndexByte(m, '\r'); i >= 0 {
			t.Errorf("Postfix stored a CR at %d (a bare CR reached it):\n%q", i, m)
		}
		head, body, _ := strings.Cut(m, "\n\n")
		var id string
		for _, l := range strings.Split(head, "\n") {
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				id = v
			}
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("Postfix got an unexpected message:\n%s", m)
			continue
		}
		if body != w {
			t.Errorf("%s: Postfix body %q, want %q", id, body, w)
		}
		delete(want, id)
	}
}
