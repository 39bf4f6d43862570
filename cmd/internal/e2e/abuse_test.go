package e2e

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// dialFrom connects to addr from the loopback source address src
// (127.0.0.2 plays a second client machine).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

// lineConn is a raw SMTP conversation.
type lineConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *lineConn) reply() string {
	var last string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "EOF"
		}
		last = strings.TrimRight(l, "\r\n")
		if len(last) < 4 || last[3] != '-' {
			return last
		}
	}
}

func (c *lineConn) cmd(line string) string {
	fmt.Fprintf(c, "%s\r\n", line)
	return c.reply()
}

func rawSMTP(t *testing.T, src, addr string) (*lineConn, string) {
	c := &lineConn{Conn: dialFrom(t, src, addr)}
	c.r = bufio.NewReader(c)
	return c, c.reply()
}

// TestConnectionFlood: 1,000 connections from one address are cut at the
// per-IP limit while a client at another address is still served.
func TestConnectionFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.max_connections_per_ip = 20`)
	s.addUser("ivy@acme.test")
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	greeted, refused := 0, 0
	for range 1000 {
		c, greeting := rawSMTP(t, "127.0.0.2", s.smtpAddr())
		switch {
		case strings.HasPrefix(greeting, "220 "):
			greeted++
			open = append(open, c)
		case strings.HasPrefix(greeting, "421 4.7.0 Too many connections from your address"):
			refused++
			c.Close()
		default:
			c.Close()
			t.Fatalf("unexpected greeting %q", greeting)
		}
	}
	if greeted != 20 || refused != 980 {
		t.Errorf("greeted %d, refused %d; want 20 and 980", greeted, refused)
	}
	if err := sendWithGo(s.smtpAddr(), "x@remote.test", []string{"ivy@acme.test"}, []byte("Subject: still served\r\n\r\nok\r\n")); err != nil {
		t.Fatalf("other client not served during the flood: %v", err)
	}
	s.waitDelivered("ivy@acme.test", 1)
}

// TestLoginThrottle: 50 wrong passwords from one address slow down, then
// lock that address out of the account while a user at another address
// still logs in; after the window the right password works.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `auth.failure_delay = "10ms"`, `auth.failure_window = "8s"`, `auth.max_failures = 10`)
	s.addUser("jay@acme.test")
	s.addUser("kim@acme.test")
	plain := func(user, pw string) string {
		return "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pw))
	}
	try := func(src, user, pw string) (string, time.Duration) {
		c, g := rawSMTP(t, src, s.addrs["submission"])
		defer c.Close()
		if !strings.HasPrefix(g, "220") {
			return g, 0
		}
		c.cmd("EHLO client.test")
		start := time.Now()
		r := c.cmd(plain(user, pw))
		return r, time.Since(start)
	}
	var failed, throttled int
	for i := 1; i <= 50; i++ {
		r, took := try("127.0.0.2", "jay@acme.test", fmt.Sprintf("guess-%d", i))
		switch {
		case strings.HasPrefix(r, "535"):
			failed++
			// The reply is delayed, doubling per failure up to 8x.
			if i == 4 && took < 80*time.Millisecond {
				t.Errorf("4th failure answered after %v, want >= 80ms", took)
			}
		case strings.HasPrefix(r, "454 4.7.0"):
			throttled++
		default:
			t.Fatalf("attempt %d: %q", i, r)
		}
	}
	if failed != 10 || throttled != 40 {
		t.Errorf("%d failed and %d throttled, want 10 and 40", failed, throttled)
	}
	// The right password from the locked-out address is refused too.
	if r, _ := try("127.0.0.2", "jay@acme.test", "secret-pw"); !strings.HasPrefix(r, "454") {
		t.Errorf("locked-out address got %q", r)
	}
	// Another address and account is not affected.
	if r, _ := try("127.0.0.1", "kim@acme.test", "secret-pw"); !strings.HasPrefix(r, "235") {
		t.Errorf("other client: %q", r)
	}
	if n := s.logs.count(func(e logEntry) bool { return e.str("msg") == "login failed" && e.str("remote") == "127.0.0.2" }); n != 10 {
		t.Errorf("%d 'login failed' lines with remote=127.0.0.2, want 10", n)
	}
	// Once the window has passed, the right password works again.
	deadline := time.Now().Add(25 * time.Second)
	for {
		r, _ := try("127.0.0.2", "jay@acme.test", "secret-pw")
		if strings.HasPrefix(r, "235") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still locked out: %q", r)
		}
		time.Sleep(250 * time.Millisecond) // waiting for the window itself
	}
}

// TestErrorsPerSession: past smtp.max_errors refusals the client gets 421
// and is disconnected.
func TestErrorsPerSession(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.max_errors = 5`)
	c, _ := rawSMTP(t, "127.0.0.1", s.smtpAddr())
	defer c.Close()
	c.cmd("EHLO client.test")
	c.cmd("MAIL FROM:<x@remote.test>")
	for i := 1; i <= 5; i++ {
		if r := c.cmd(fmt.Sprintf("RCPT TO:<nobody%d@acme.test>", i)); !strings.HasPrefix(r, "5") {
			t.Fatalf("rcpt %d: %q", i, r)
		}
	}
	if r := c.cmd("RCPT TO:<victim@victim.example>"); !strings.HasPrefix(r, "421 4.7.0") {
		t.Fatalf("6th error got %q, want 421", r)
	}
	if r := c.reply(); r != "EOF" {
		t.Errorf("connection still open after 421: %q", r)
	}
}

// TestSubmissionHourlyLimit: an authenticated user is stopped after
// submission.max_messages_per_hour messages.
func TestSubmissionHourlyLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `submission.max_messages_per_hour = 3`)
	s.addUser("lee@acme.test")
	s.addUser("max@acme.test")
	msg := "From: lee@acme.test\r\nTo: max@acme.test\r\nSubject: n\r\n\r\nn\r\n"
	for i := range 3 {
		if err := submit(t, s.addrs["submission"], false, "lee@acme.test", "lee@acme.test", []string{"max@acme.test"}, msg); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	wantSMTPError(t, submit(t, s.addrs["submissions"], true, "lee@acme.test", "lee@acme.test", []string{"max@acme.test"}, msg), 451, smtp.EnhancedCode{4, 7, 1})
	// Other users keep their own quota.
	if err := submit(t, s.addrs["submission"], false, "max@acme.test", "max@acme.test", []string{"lee@acme.test"}, "From: max@acme.test\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("other user: %v", err)
	}
}

// TestDNSBL: a client listed in a configured DNSBL gets 554 naming the
// list before the greeting; unlisted and trusted clients are served.
func TestDNSBL(t *testing.T) {
	t.Parallel()
	d := startDNS(t,
		`2.0.0.127.bl.test. A 127.0.0.2`,
		`2.0.0.127.bl.test. TXT "Listed for testing, see https://bl.test/127.0.0.2"`,
		`3.0.0.127.bl.test. A 127.0.0.2`,
	)
	s := startServer(t, "", fmt.Sprintf(`dns.resolver = %q`, d.Addr), `dnsbl.zones = ["bl.test"]`, `senderauth.trusted = ["127.0.0.3/32"]`)
	c, g := rawSMTP(t, "127.0.0.2", s.smtpAddr())
	c.Close()
	if !strings.HasPrefix(g, "554 5.7.1 ") || !strings.Contains(g, "bl.test") || !strings.Contains(g, "Listed for testing") {
		t.Errorf("listed client got %q", g)
	}
	for _, src := range []string{"127.0.0.1", "127.0.0.3"} {
		c, g := rawSMTP(t, src, s.smtpAddr())
		c.Close()
		if !strings.HasPrefix(g, "220 ") {
			t.Errorf("%s got %q", src, g)
		}
	}
	s.logs.wait(t, 10*time.Second, func(e logEntry) bool { return e.str("reason") == "dnsbl" && e.str("zone") == "bl.test" })
}
