package smtpd

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// smtpClient is a line-level SMTP client: tests see every reply as sent.
type smtpClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialSMTP(t *testing.T, c net.Conn) *smtpClient {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	cl := &smtpClient{t: t, c: c, r: bufio.NewReader(c)}
	if got := cl.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("greeting %q", got)
	}
	return cl
}

// reply reads one (possibly multi-line) reply and returns its last line,
// or "EOF" when the server closed the connection.
func (c *smtpClient) reply() string {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if err == io.EOF || strings.Contains(err.Error(), "reset by peer") {
				return "EOF"
			}
			c.t.Fatalf("read: %v", err)
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

func (c *smtpClient) cmd(line string) string {
	c.t.Helper()
	fmt.Fprintf(c.c, "%s\r\n", line)
	return c.reply()
}

// A client that never sends mail gets 421 after MaxNonMailCommands
// non-mail commands, and the connection (and its slot) is closed; a
// completed message starts the count afresh.
func TestNonMailCommandFloodCloses(t *testing.T) {
	t.Parallel()
	const max = 6
	addr := testServer(t, Options{MaxNonMailCommands: max})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := dialSMTP(t, c)
	cl.cmd("EHLO client.test")
	for i := range 3 { // MAIL, RCPT, DATA do not count; RSET does
		if got := cl.cmd("MAIL FROM:<a@b.test>"); !strings.HasPrefix(got, "250 ") {
			t.Fatalf("MAIL %d: %q", i, got)
		}
		cl.cmd("RCPT TO:<alice@acme.test>")
		cl.cmd("DATA")
		if got := cl.cmd("Subject: x\r\n\r\nhi\r\n."); !strings.HasPrefix(got, "250 ") {
			t.Fatalf("message %d: %q", i, got)
		}
		for range max - 1 {
			if got := cl.cmd("RSET"); !strings.HasPrefix(got, "250 ") {
				t.Fatalf("RSET after message %d: %q", i, got)
			}
		}
	}
	got := []string{}
	for _, cmd := range []string{"NOOP", "VRFY alice", "HELP", "EXPN list", "NOOP", "NOOP", "NOOP"} {
		r := cl.cmd(cmd)
		got = append(got, r)
		if r == "EOF" || strings.HasPrefix(r, "421") {
			break
		}
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, "421 4.7.0 ") || len(got) != 2 {
		t.Fatalf("after %d RSETs the replies were %q, want one more reply and then 421 4.7.0", max-1, got)
	}
	if r := cl.reply(); r != "EOF" {
		t.Fatalf("connection still open after 421: %q", r)
	}
}

// The same over implicit TLS: the 421 is readable, not garbage under the
// TLS layer.
func TestNonMailCommandFloodClosesTLS(t *testing.T) {
	t.Parallel()
	cfg := selfSigned(t)
	addr := testServer(t, Options{Mode: SubmissionTLS, TLS: cfg, MaxNonMailCommands: 4})
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cl := dialSMTP(t, c)
	var got []string
	for range 10 {
		r := cl.cmd("NOOP")
		got = append(got, r)
		if !strings.HasPrefix(r, "250 ") {
			break
		}
	}
	t.Logf("%d NOOPs answered before the 421 (limit 4)", len(got)-1)
	if last := got[len(got)-1]; !strings.HasPrefix(last, "421 4.7.0 ") || len(got) > 5 {
		t.Fatalf("NOOP replies %q, want at most 4 and then 421 4.7.0", got)
	}
	if r := cl.reply(); r != "EOF" {
		t.Fatalf("connection still open after 421: %q", r)
	}
}

// After STARTTLS (and no new EHLO) the 421 comes through TLS too.
func TestNonMailCommandFloodClosesAfterSTARTTLS(t *testing.T) {
	t.Parallel()
	addr := testServer(t, Options{TLS: selfSigned(t), MaxNonMailCommands: 8})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := dialSMTP(t, c)
	cl.cmd("EHLO client.test")
	if r := cl.cmd("STARTTLS"); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("STARTTLS: %q", r)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cl = &smtpClient{t: t, c: tc, r: bufio.NewReader(tc)}
	var got []string
	for range 20 {
		r := cl.cmd("NOOP")
		got = append(got, r)
		if !strings.HasPrefix(r, "250 ") {
			break
		}
	}
	t.Logf("%d NOOPs answered after EHLO and STARTTLS before the 421 (limit 8)", len(got)-1)
	if last := got[len(got)-1]; !strings.HasPrefix(last, "421 4.7.0 ") {
		t.Fatalf("NOOP replies under STARTTLS %q, want 421 4.7.0 at the end", got)
	}
}

// A client that stops in the middle of DATA gets 421 4.4.2 and the
// connection is closed, not left reading the rest as commands.
func TestDataTimeoutCloses(t *testing.T) {
	t.Parallel()
	addr := testServer(t, Options{ReadTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := dialSMTP(t, c)
	cl.cmd("EHLO client.test")
	cl.cmd("MAIL FROM:<a@b.test>")
	cl.cmd("RCPT TO:<alice@acme.test>")
	if got := cl.cmd("DATA"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	fmt.Fprintf(c, "Subject: half\r\n\r\nand then nothing") // no end of data
	if got := cl.reply(); !strings.HasPrefix(got, "421 4.4.2 ") {
		t.Fatalf("after the timeout: %q, want 421 4.4.2", got)
	}
	if got := cl.reply(); got != "EOF" {
		t.Fatalf("connection still open after the DATA timeout: %q", got)
	}
}

// One Limits shared by two Servers with two listeners each counts all
// four listeners together.
func TestLimitsSpanListenersAndServers(t *testing.T) {
	t.Parallel()
	limits := NewLimits(0, 2)
	var addrs []string
	for range 2 {
		srv, err := New(Options{Policy: MXPolicy{}, Queue: memQueue{make(chan string, 1)}, Limits: limits})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l)
			addrs = append(addrs, l.Addr().String())
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
	}
	for i, addr := range addrs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		want := "220 "
		if i >= 2 {
			want = "421 4.7.0 "
		}
		if !strings.HasPrefix(line, want) {
			t.Fatalf("connection %d (%s): %q, want %q", i, addr, line, want)
		}
	}
}

// Addresses of one IPv6 /64 share a per-client slot count; another /64
// and IPv4 addresses do not.
func TestLimitsGroupIPv6By64(t *testing.T) {
	t.Parallel()
	l := NewLimits(0, 2)
	a := netip.MustParseAddr
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if r := l.acquire(a(ip)); r != "" {
			t.Fatalf("%s: %s", ip, r)
		}
	}
	if r := l.acquire(a("2001:db8:1:2::77")); r == "" {
		t.Fatal("a third address of the same /64 got a slot")
	}
	if r := l.acquire(a("2001:db8:1:3::1")); r != "" {
		t.Fatalf("another /64: %s", r)
	}
	l.release(a("2001:db8:1:2::1"))
	if r := l.acquire(a("2001:db8:1:2::77")); r != "" {
		t.Fatalf("after a release: %s", r)
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.acme.test"},
		DNSNames:     []string{"mx.acme.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}
