package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// nonLoopbackAddr returns a local IPv4 address that is not loopback, so a
// test can connect to maild as a non-loopback client. Without one, as
// root it adds 198.51.100.7/32 to lo for the test.
func nonLoopbackAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "no non-loopback IPv4 address, and not root to add one")
	}
	const test = "198.51.100.7"
	if out, err := exec.Command("ip", "addr", "add", test+"/32", "dev", "lo").CombinedOutput(); err != nil {
		skipOrFail(t, "ip addr add %s: %v %s", test, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "addr", "del", test+"/32", "dev", "lo").Run() })
	return test
}

// listening returns the addresses maild bound for proto, in log order.
func (s *server) listening(proto string) []string {
	var out []string
	for _, e := range s.logs.all() {
		if e.str("msg") == "listening" && e.str("proto") == proto {
			out = append(out, e.str("addr"))
		}
	}
	return out
}

// onHost returns the one address of addrs on host.
func onHost(t *testing.T, addrs []string, host string) string {
	t.Helper()
	for _, a := range addrs {
		if h, _, _ := net.SplitHostPort(a); h == host {
			return a
		}
	}
	t.Fatalf("no listener on %s among %v", host, addrs)
	return ""
}

// textConn is a raw line conversation (IMAP, POP3, SMTP).
type textConn struct {
	net.Conn
	r *bufio.Reader
}

func dialText(t *testing.T, addr string) *textConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &textConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *textConn) line() string {
	l, err := c.r.ReadString('\n')
	if err != nil {
		return "EOF"
	}
	return strings.TrimRight(l, "\r\n")
}

// until reads lines up to and including the first for which last holds.
func (c *textConn) until(last func(string) bool) []string {
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if l == "EOF" || last(l) {
			return out
		}
	}
}

func (c *textConn) send(line string) { fmt.Fprintf(c, "%s\r\n", line) }

// TestPlaintextLoginDisabled: with auth.plaintext_on_loopback on (the dev
// default), a client on a non-loopback address is not invited to log in
// before TLS: IMAP advertises LOGINDISABLED and no AUTH=, POP3's CAPA
// has no USER or SASL and USER is refused before the password, SMTP
// submission advertises no AUTH before STARTTLS. Loopback clients keep
// their plaintext logins.
func TestPlaintextLoginDisabled(t *testing.T) {
	t.Parallel()
	host := nonLoopbackAddr(t)
	s := startServer(t, "",
		`auth.plaintext_on_loopback = true`,
		fmt.Sprintf(`imap.listen = ["127.0.0.1:0", "%s:0"]`, host),
		fmt.Sprintf(`pop3.listen = ["127.0.0.1:0", "%s:0"]`, host),
		fmt.Sprintf(`submission.listen = ["127.0.0.1:0", "%s:0"]`, host))
	s.addUser("pat@acme.test")

	imapCaps := func(addr string) (greeting, caps string) {
		c := dialText(t, addr)
		greeting = c.line()
		c.send("a1 CAPABILITY")
		lines := c.until(func(l string) bool { return strings.HasPrefix(l, "a1 ") })
		return greeting, strings.Join(lines, "\n")
	}
	t.Run("imap", func(t *testing.T) {
		for _, where := range []string{host, "127.0.0.1"} {
			greeting, caps := imapCaps(onHost(t, s.listening("imap"), where))
			remote := where != "127.0.0.1"
			for _, text := range []string{greeting, caps} {
				if got := strings.Contains(text, "LOGINDISABLED"); got != remote {
					t.Errorf("%s: LOGINDISABLED advertised = %v in %q", where, got, text)
				}
				if got := strings.Contains(text, "AUTH="); got == remote {
					t.Errorf("%s: AUTH= advertised = %v in %q", where, got, text)
				}
				if !strings.Contains(text, "STARTTLS") {
					t.Errorf("%s: no STARTTLS in %q", where, text)
				}
			}
		}
		c := dialText(t, onHost(t, s.listening("imap"), host))
		c.line()
		c.send("a1 LOGIN pat@acme.test secret-pw")
		if r := c.until(func(l string) bool { return strings.HasPrefix(l, "a1 ") }); !strings.HasPrefix(r[len(r)-1], "a1 NO [PRIVACYREQUIRED]") {
			t.Errorf("LOGIN without TLS from %s: %q", host, r)
		}
		c = dialText(t, onHost(t, s.listening("imap"), "127.0.0.1"))
		c.line()
		c.send("a1 LOGIN pat@acme.test secret-pw")
		if r := c.until(func(l string) bool { return strings.HasPrefix(l, "a1 ") }); !strings.HasPrefix(r[len(r)-1], "a1 OK") {
			t.Errorf("LOGIN from loopback: %q", r)
		}
	})
	t.Run("pop3", func(t *testing.T) {
		for _, where := range []string{host, "127.0.0.1"} {
			c := dialText(t, onHost(t, s.listening("pop3"), where))
			c.line()
			c.send("CAPA")
			caps := strings.Join(c.until(func(l string) bool { return l == "." }), "\n")
			remote := where != "127.0.0.1"
			if got := strings.Contains(caps, "\nUSER") || strings.Contains(caps, "SASL"); got == remote {
				t.Errorf("%s: USER/SASL advertised = %v in %q", where, got, caps)
			}
			if !strings.Contains(caps, "STLS") {
				t.Errorf("%s: no STLS in %q", where, caps)
			}
			c.send("USER pat@acme.test")
			r := c.line()
			if remote != strings.HasPrefix(r, "-ERR [AUTH]") {
				t.Errorf("%s: USER answered %q", where, r)
			}
		}
	})
	t.Run("submission", func(t *testing.T) {
		for _, where := range []string{host, "127.0.0.1"} {
			c := dialText(t, onHost(t, s.listening("submission"), where))
			c.line()
			c.send("EHLO client.test")
			ehlo := strings.Join(c.until(func(l string) bool { return len(l) < 4 || l[3] != '-' }), "\n")
			remote := where != "127.0.0.1"
			if got := strings.Contains(ehlo, "AUTH"); got == remote {
				t.Errorf("%s: AUTH advertised = %v in %q", where, got, ehlo)
			}
			if !strings.Contains(ehlo, "STARTTLS") {
				t.Errorf("%s: no STARTTLS in %q", where, ehlo)
			}
			if remote {
				// AUTH LOGIN would ask for the password next: it is
				// refused before.
				c.send("AUTH LOGIN")
				if r := c.line(); !strings.HasPrefix(r, "5") {
					t.Errorf("AUTH LOGIN without TLS from %s: %q", where, r)
				}
			}
		}
	})
}

// TestLoginOwnerFromFreshAddress: ten wrong passwords from one address
// lock that address out of the account, but not the account's owner at
// another address (they used to lock the account from everywhere for the
// whole window).
func TestLoginOwnerFromFreshAddress(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `auth.failure_delay = "1ms"`, `auth.max_failures = 10`)
	s.addUser("quinn@acme.test")
	try := func(src, pw string) string {
		c, g := rawSMTP(t, src, s.addrs["submission"])
		defer c.Close()
		if !strings.HasPrefix(g, "220") {
			return g
		}
		c.cmd("EHLO client.test")
		return c.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00quinn@acme.test\x00"+pw)))
	}
	for i := range 12 {
		try("127.0.0.5", fmt.Sprintf("guess-%d", i))
	}
	if r := try("127.0.0.5", "secret-pw"); !strings.HasPrefix(r, "454 4.7.0") {
		t.Fatalf("the guessing address got %q, want 454 4.7.0", r)
	}
	if r := try("127.0.0.6", "secret-pw"); !strings.HasPrefix(r, "235") {
		t.Errorf("the owner at a fresh address got %q, want 235", r)
	}
}

// vmHWM returns a process's peak resident set size in KiB.
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		skipOrFail(t, "no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return n
		}
	}
	skipOrFail(t, "no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestLoginFloodMemory: 500 concurrent wrong passwords over HTTPS Basic
// auth, from 500 client addresses, keep maild's peak RSS under 150 MiB
// (each argon2id check holds 19 MiB; unbounded, 100 attempts took maild
// to 1.9 GiB). Every attempt gets 401 or 503, none hangs, and the owner
// logs in afterwards.
func TestLoginFloodMemory(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", `auth.failure_delay = "1ms"`)
	s.addUser("rae@acme.test")
	pid := s.cmd.Process.Pid
	before := vmHWM(t, pid)
	url := "https://" + s.addrs["https"] + "/profile.mobileconfig"
	get := func(src, user, pw string) (int, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
		tr := &http.Transport{
			DialContext:       d.DialContext,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.SetBasicAuth(user, pw)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	const n = 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	start := make(chan struct{})
	for i := range n {
		src := fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)
		wg.Go(func() {
			<-start
			code, err := get(src, "rae@acme.test", fmt.Sprintf("guess-%d", i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("attempt from %s: %v", src, err)
				return
			}
			codes[code]++
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	peak := vmHWM(t, pid)
	t.Logf("%d concurrent bad logins in %v: responses %v; maild VmHWM %d KiB before, %d KiB after", n, took, codes, before, peak)
	if codes[401]+codes[503] != n {
		t.Errorf("responses %v, want only 401 and 503", codes)
	}
	if peak > 150<<10 {
		t.Errorf("maild peak RSS %d MiB, want < 150 MiB", peak>>10)
	}
	if code, err := get("127.0.9.9", "rae@acme.test", "secret-pw"); err != nil || code != 200 {
		t.Errorf("owner after the flood: %d %v", code, err)
	}
}
