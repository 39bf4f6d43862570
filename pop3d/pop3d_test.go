package pop3d

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"yubin/storage"
)

const (
	testUser = "alice@acme.test"
	testPass = "correct horse battery"
)

// env is a Server over a real storage.Store in a temp dir.
type env struct {
	t     *testing.T
	store *storage.Store
	acct  *storage.Account
	guard *storage.LoginGuard
	srv   *Server
	addr  string // plain listener
	tlsAd string // implicit TLS listener
}

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func testTLSConfig(t testing.TB) *tls.Config {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "mail.acme.test"},
			DNSNames:     []string{"mail.acme.test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return &tls.Config{Certificates: []tls.Certificate{testCert}, MinVersion: tls.VersionTLS12}
}

// newEnv starts a server with one user; mod may change the options.
func newEnv(t *testing.T, loginOpts storage.LoginOptions, mod func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, testUser, testPass, 0); err != nil {
		t.Fatal(err)
	}
	addr, _ := storage.ParseAddress(testUser)
	acct, err := st.Account(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if loginOpts.Sleep == nil {
		loginOpts.Sleep = func(context.Context, time.Duration) {}
	}
	e := &env{t: t, store: st, acct: acct, guard: storage.NewLoginGuard(st, loginOpts)}
	opts := Options{
		Hostname:            "mail.acme.test",
		TLS:                 testTLSConfig(t),
		Auth:                e.guard,
		Maildrops:           st,
		PlaintextOnLoopback: true,
	}
	if mod != nil {
		mod(&opts)
	}
	e.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.srv.Close() })
	for _, implicit := range []bool{false, true} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serve := e.srv.Serve
		if implicit {
			serve = e.srv.ServeTLS
			e.tlsAd = l.Addr().String()
		} else {
			e.addr = l.Addr().String()
		}
		go func() {
			if err := serve(l); err != nil {
				t.Errorf("serve: %v", err)
			}
		}()
	}
	return e
}

// deliver stores msg in the user's INBOX and returns its UID.
func (e *env) deliver(msg string) uint32 {
	e.t.Helper()
	m, err := e.acct.Deliver(context.Background(), storage.Inbox, strings.NewReader(msg), storage.DeliverOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return m.UID
}

func (e *env) inboxCount() int {
	e.t.Helper()
	ms, err := e.acct.Messages(context.Background(), storage.Inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// client is a minimal POP3 client for the tests.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	return newClient(e.t, c)
}

func (e *env) dialTLS() *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tlsAd, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return newClient(e.t, c)
}

func newClient(t *testing.T, c net.Conn) *client {
	t.Helper()
	cl := &client{t: t, conn: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if g := cl.line(); !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("greeting %q", g)
	}
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends a line and returns the first reply line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
	return c.line()
}

// ok sends a line and fails unless the reply is +OK.
func (c *client) ok(line string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, "+OK") {
		c.t.Fatalf("%s: got %q, want +OK", line, r)
	}
	return r
}

// errResp sends a line and fails unless the reply is -ERR starting
// with prefix.
func (c *client) errResp(line, prefix string) string {
	c.t.Helper()
	r := c.cmd(line)
	if !strings.HasPrefix(r, "-ERR"+prefix) {
		c.t.Fatalf("%s: got %q, want -ERR%s", line, r, prefix)
	}
	return r
}

// multi reads the rest of a multi-line response, undoing dot-stuffing.
// It returns the raw octets as the client stores them.
func (c *client) multi() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line()
		if l == "." {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
		b.WriteString("\r\n")
	}
}

func (c *client) login() {
	c.t.Helper()
	c.ok("USER " + testUser)
	c.ok("PASS " + testPass)
}

// quit sends QUIT and waits until the server closes the connection, by
// which time the session has released its maildrop.
func (c *client) quit() string {
	c.t.Helper()
	r := c.cmd("QUIT")
	c.waitClosed()
	return r
}

func (c *client) waitClosed() {
	c.t.Helper()
	if l, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("expected the server to close, got %q", l)
	}
}

// pipeSession runs a session over net.Pipe as if from remote, for rules
// that depend on the client address.
func (e *env) pipeSession(remote string) *client {
	e.t.Helper()
	sc, cc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.newSession(sc, netip.MustParseAddr(remote), e.srv.log, false).run()
		sc.Close()
	}()
	e.t.Cleanup(func() { cc.Close(); <-done })
	return newClient(e.t, cc)
}
