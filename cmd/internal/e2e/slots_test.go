package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSMTPNonMailFlood: a client that only sends NOOP, RSET, VRFY and
// HELP gets 421 4.7.0 after smtp.max_nonmail_commands and is
// disconnected, on port 25 and on submission; a client that sends mail
// between its RSETs is not.
func TestSMTPNonMailFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.max_nonmail_commands = 10`)
	s.addUser("ivy@acme.test")
	for _, proto := range []string{"smtp", "submission"} {
		c, greeting := rawSMTP(t, "127.0.0.1", s.addrs[proto])
		defer c.Close()
		if !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("%s greeting %q", proto, greeting)
		}
		cmds := []string{"EHLO flood.test", "NOOP", "RSET", "VRFY ivy", "HELP"}
		var replies []string
		for i := 0; i < 100; i++ {
			r := c.cmd(cmds[min(i, 1+i%4)])
			replies = append(replies, r)
			if r == "EOF" || strings.HasPrefix(r, "421") {
				break
			}
		}
		if last := replies[len(replies)-1]; !strings.HasPrefix(last, "421 4.7.0 ") {
			t.Fatalf("%s: %d commands, last reply %q; want 421 4.7.0 within 100", proto, len(replies), last)
		}
		if len(replies) > 11 {
			t.Errorf("%s: %d commands before 421, want at most 11", proto, len(replies))
		}
		if r := c.reply(); r != "EOF" {
			t.Errorf("%s: still open after 421: %q", proto, r)
		}
	}
	// Mail between the RSETs keeps a connection going.
	c, _ := rawSMTP(t, "127.0.0.1", s.smtpAddr())
	defer c.Close()
	c.cmd("EHLO sender.test")
	for i := range 4 {
		c.cmd("MAIL FROM:<x@remote.test>")
		c.cmd("RCPT TO:<ivy@acme.test>")
		c.cmd("DATA")
		if r := c.cmd("Subject: " + string(rune('a'+i)) + "\r\n\r\nbody\r\n."); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("message %d: %q", i, r)
		}
		for range 6 {
			if r := c.cmd("RSET"); !strings.HasPrefix(r, "250 ") {
				t.Fatalf("RSET after message %d: %q", i, r)
			}
		}
	}
	s.waitDelivered("ivy@acme.test", 4)
}

// TestSMTPDataTimeoutCloses: a client that stops sending in the middle of
// DATA gets 421 4.4.2 and the connection is closed.
func TestSMTPDataTimeoutCloses(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.read_timeout = "1s"`)
	s.addUser("ivy@acme.test")
	c, _ := rawSMTP(t, "127.0.0.1", s.smtpAddr())
	defer c.Close()
	c.cmd("EHLO slow.test")
	c.cmd("MAIL FROM:<x@remote.test>")
	c.cmd("RCPT TO:<ivy@acme.test>")
	if r := c.cmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA: %q", r)
	}
	c.Write([]byte("Subject: half\r\n\r\nthe rest never comes"))
	if r := c.reply(); !strings.HasPrefix(r, "421 4.4.2 ") {
		t.Fatalf("after the DATA timeout: %q, want 421 4.4.2", r)
	}
	if r := c.reply(); r != "EOF" {
		t.Fatalf("connection still open after the DATA timeout: %q", r)
	}
}

// TestSubmissionLimitsSpanPorts: 587 and 465 share the per-client
// connection limit.
func TestSubmissionLimitsSpanPorts(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `smtp.max_connections_per_ip = 2`)
	c1, g1 := rawSMTP(t, "127.0.0.2", s.addrs["submission"])
	defer c1.Close()
	tc, err := tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}, "tcp", s.addrs["submissions"], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	g2, _ := bufio.NewReader(tc).ReadString('\n')
	c3, g3 := rawSMTP(t, "127.0.0.2", s.addrs["submission"])
	defer c3.Close()
	if !strings.HasPrefix(g1, "220 ") || !strings.HasPrefix(g2, "220 ") || !strings.HasPrefix(g3, "421 4.7.0 ") {
		t.Fatalf("greetings 587 %q, 465 %q, 587 again %q; want 220, 220, 421 4.7.0", g1, g2, g3)
	}
}

// TestIMAPTotalConnections: imap.max_connections caps IMAP connections
// over 143 and 993 together; one over the cap gets * BYE and is closed,
// and a freed slot is usable again.
func TestIMAPTotalConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `imap.max_connections = 2`)
	dial := func(proto, src string) (net.Conn, string) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
		var c net.Conn
		var err error
		if proto == "imaps" {
			c, err = tls.DialWithDialer(d, "tcp", s.addrs[proto], &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = d.Dial("tcp", s.addrs[proto])
		}
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		greeting, _ := r.ReadString('\n')
		return c, greeting
	}
	c1, g1 := dial("imap", "127.0.0.2")
	defer c1.Close()
	c2, g2 := dial("imaps", "127.0.0.3")
	defer c2.Close()
	c3, g3 := dial("imap", "127.0.0.4")
	defer c3.Close()
	if !strings.HasPrefix(g1, "* OK") || !strings.HasPrefix(g2, "* OK") {
		t.Fatalf("greetings within the cap: %q, %q", g1, g2)
	}
	if !strings.HasPrefix(g3, "* BYE ") || !strings.Contains(g3, "Too many connections") {
		t.Fatalf("third connection (another address) got %q, want * BYE Too many connections", g3)
	}
	if n, err := c3.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection over the cap still open (read %d bytes)", n)
	}
	// Over the cap on 993 the connection is closed before TLS.
	d := &net.Dialer{Timeout: 10 * time.Second}
	if c, err := tls.DialWithDialer(d, "tcp", s.addrs["imaps"], &tls.Config{InsecureSkipVerify: true}); err == nil {
		c.Close()
		t.Fatal("a TLS connection over the cap completed its handshake")
	}
	c1.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, g := dial("imap", "127.0.0.5")
		c.Close()
		if strings.HasPrefix(g, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", g)
		}
	}
}
