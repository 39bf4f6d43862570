package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRemoteDeliveryToPostfix: mail to a local alias whose target is in a
// remote domain leaves through the queue, found by MX in the test DNS,
// and lands in a real Postfix's Maildir.
func TestRemoteDeliveryToPostfix(t *testing.T) {
	t.Parallel()
	pf := startPostfix(t)
	dns := startDNS(t, remoteZone(pf.Domain)...)
	s := startServer(t, "",
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(pf.Port))
	s.addUser("frank@acme.test")
	s.mustMailctl("", "alias", "add", "fwd@acme.test", "bob@remote.test")

	msg := "From: <sender@client.test>\r\nTo: <fwd@acme.test>\r\nSubject: out to Postfix\r\nMessage-ID: <pf1@client.test>\r\n\r\nThrough the queue.\r\n"
	if err := sendWithGo(s.smtpAddr(), "sender@client.test", []string{"fwd@acme.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := pf.WaitMaildir("bob", 1)
	if !strings.Contains(got[0], "Subject: out to Postfix") || !strings.Contains(got[0], "Through the queue.") {
		t.Fatalf("Postfix Maildir message:\n%s", got[0])
	}
	ev := s.logs.wait(t, 30*time.Second, func(e logEntry) bool {
		return e.str("msg") == "delivered" && e.str("rcpt") == "bob@remote.test"
	})
	if !strings.HasPrefix(ev.str("remote"), "mx.remote.test[127.0.0.1]:") || ev.str("reply") == "" {
		t.Errorf("delivered event: %v", ev)
	}
	// Postfix offers no STARTTLS here: plaintext, logged as such.
	if ev.str("tls") != "no" {
		t.Errorf("tls = %q", ev.str("tls"))
	}
}

// TestRemoteHostDownDefers: the MX refuses connections; the message is
// deferred and stays queued (and is still there after a restart).
func TestRemoteHostDownDefers(t *testing.T) {
	t.Parallel()
	dns := startDNS(t, remoteZone("down.test")...)
	port := freePort(t) // nothing listens here
	s := startServer(t, "",
		`dns.resolver = "`+dns.Addr+`"`,
		`delivery.remote_port = `+strconv.Itoa(port),
		`delivery.retry_min = "1h"`,
		`delivery.retry_max = "1h"`)
	s.addUser("frank@acme.test")
	s.mustMailctl("", "alias", "add", "out@acme.test", "bob@down.test")
	msg := "From: <sender@client.test>\r\nSubject: nobody home\r\n\r\nx\r\n"
	if err := sendWithGo(s.smtpAddr(), "sender@client.test", []string{"out@acme.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ev := s.logs.wait(t, 30*time.Second, func(e logEntry) bool {
		return e.str("msg") == "deferred" && e.str("rcpt") == "bob@down.test"
	})
	if !strings.Contains(ev.str("err"), "4.4.1") || !strings.Contains(ev.str("err"), "mx.down.test") {
		t.Errorf("deferred event: %v", ev)
	}
	// Still queued: a restart reschedules it.
	s.stop()
	s.start()
	s.logs.wait(t, 30*time.Second, func(e logEntry) bool {
		return e.str("msg") == "rescheduling queued messages"
	})
	if n := s.logs.count(func(e logEntry) bool { return e.str("msg") == "bounced" }); n != 0 {
		t.Errorf("%d bounces for a deferred message", n)
	}
	// The queue shows it with its last error.
	if out := s.mustMailctl("", "queue", "list"); !strings.Contains(out, "bob@down.test") || !strings.Contains(out, "4.4.1") {
		t.Errorf("mailctl queue list after restart:\n%s", out)
	}
}
