package pop3d

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"

	"yubin/storage"
)

func plain(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

func TestLoginAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tls      bool
		remote   string
		loopback bool
		want     bool
	}{
		{true, "192.0.2.1", false, true},
		{true, "127.0.0.1", false, true},
		{false, "127.0.0.1", true, true},
		{false, "::1", true, true},
		{false, "::ffff:127.0.0.1", true, true},
		{false, "127.0.0.1", false, false},
		{false, "192.0.2.1", true, false},
		{false, "10.0.0.1", true, false},
		{false, "", true, false},
	} {
		var remote netip.Addr
		if tc.remote != "" {
			remote = netip.MustParseAddr(tc.remote)
		}
		if got := loginAllowed(tc.tls, remote, tc.loopback); got != tc.want {
			t.Errorf("loginAllowed(%v, %q, %v) = %v, want %v", tc.tls, tc.remote, tc.loopback, got, tc.want)
		}
	}
}

func TestPlaintextRefusedFromNonLoopback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	c := e.pipeSession("192.0.2.7")
	c.ok("CAPA")
	capa := c.multi()
	if strings.Contains(capa, "USER") || strings.Contains(capa, "SASL") || !strings.Contains(capa, "STLS") {
		t.Errorf("CAPA before TLS from a remote address: %q", capa)
	}
	c.errResp("USER "+testUser, " [AUTH] ")
	c.errResp("PASS "+testPass, " [AUTH] ")
	c.errResp("AUTH PLAIN "+plain("", testUser, testPass), " [AUTH] ")
	// After STLS the same client may log in.
	c.ok("STLS")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c2 := &client{t: t, conn: tc, r: newReader(tc)}
	c2.ok("CAPA")
	capa = c2.multi()
	if !strings.Contains(capa, "USER") || !strings.Contains(capa, "SASL PLAIN") || strings.Contains(capa, "STLS") {
		t.Errorf("CAPA after STLS: %q", capa)
	}
	c2.login()
	c2.ok("STAT")
}

func TestCapa(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	c := e.dial()
	c.ok("CAPA")
	got := c.multi()
	want := "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\nSTLS\r\nIMPLEMENTATION Yubin\r\n"
	if got != want {
		t.Errorf("CAPA = %q, want %q", got, want)
	}
	c.login()
	c.ok("CAPA")
	if got := c.multi(); strings.Contains(got, "STLS") || strings.Contains(got, "USER") || !strings.Contains(got, "UIDL") {
		t.Errorf("CAPA in TRANSACTION = %q", got)
	}
}

func TestSTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	e.deliver("Subject: one\r\n\r\nbody\r\n")
	c := e.dial()
	c.ok("USER " + testUser)
	// Pipelined input behind STLS is dropped, not run after the handshake.
	if _, err := c.conn.Write([]byte("STLS\r\nNOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("STLS: %q", r)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.acme.test"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c = &client{t: t, conn: tc, r: newReader(tc)}
	c.errResp("STLS", " ")
	// USER given before TLS is forgotten.
	c.errResp("PASS "+testPass, " ")
	c.login()
	if r := c.ok("STAT"); r != "+OK 1 22" {
		t.Errorf("STAT = %q", r)
	}
	c.quit()
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	c := e.dialTLS()
	c.ok("CAPA")
	if got := c.multi(); strings.Contains(got, "STLS") || !strings.Contains(got, "USER") {
		t.Errorf("CAPA on 995 = %q", got)
	}
	c.login()
	c.quit()
}

func TestUserPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	c := e.dial()
	c.errResp("PASS "+testPass, " ")
	c.ok("USER nobody@acme.test") // does not reveal that the user is unknown
	c.errResp("PASS "+testPass, " [AUTH] ")
	c.ok("USER " + testUser)
	c.errResp("PASS wrong", " [AUTH] ")
	c.errResp("PASS "+testPass, " ") // USER is used up by a failed PASS
	c.ok("USER " + strings.ToUpper(testUser))
	if r := c.ok("PASS " + testPass); r != "+OK Maildrop has 0 messages (0 octets)" {
		t.Errorf("PASS = %q", r)
	}
}

func TestAuthPlain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)

	c := e.dial()
	c.ok("AUTH")
	if got := c.multi(); got != "PLAIN\r\n" {
		t.Errorf("AUTH list = %q", got)
	}
	c.errResp("AUTH CRAM-MD5", " ")
	c.errResp("AUTH PLAIN "+plain("", testUser, "wrong"), " [AUTH] ")
	c.errResp("AUTH PLAIN "+plain("bob@acme.test", testUser, testPass), " [AUTH] ")
	c.errResp("AUTH PLAIN =", " [AUTH] ")
	c.errResp("AUTH PLAIN !!!", " ")
	// No initial response: an empty challenge, then the response.
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("challenge = %q", r)
	}
	c.errResp("*", " ") // cancelled
	if r := c.cmd("AUTH plain"); r != "+ " {
		t.Fatalf("challenge = %q", r)
	}
	c.ok(plain("", testUser, testPass))
	c.ok("STAT")
	c.quit()

	// With an initial response and the authorization identity equal to
	// the user.
	c = e.dial()
	c.ok("AUTH PLAIN " + plain(testUser, testUser, testPass))
	c.quit()
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{MaxFailures: 2}, nil)
	c := e.dial()
	for range 2 {
		c.ok("USER " + testUser)
		c.errResp("PASS wrong", " [AUTH] ")
	}
	// Over the limit even the right password is refused, with a code that
	// tells the client to wait rather than ask for a new password.
	c.ok("USER " + testUser)
	c.errResp("PASS "+testPass, " [LOGIN-DELAY] ")
	c.errResp("AUTH PLAIN "+plain("", testUser, testPass), " [LOGIN-DELAY] ")
}

func TestInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	a := e.dial()
	a.login()
	b := e.dial()
	b.ok("USER " + testUser)
	b.errResp("PASS "+testPass, " [IN-USE] ")
	// Still in AUTHORIZATION: it may try again once the lock is free.
	a.quit()
	b.login()
	b.ok("STAT")
}

// busyAuth refuses every login as the shared guard does when no
// password-hash slot freed up in time.
type busyAuth struct{}

func (busyAuth) Login(context.Context, netip.Addr, string, string) (storage.User, error) {
	return storage.User{}, storage.ErrBusy
}

// TestBusy: a login refused for lack of a hash slot is a temporary
// failure ([SYS/TEMP]), not bad credentials.
func TestBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, func(o *Options) { o.Auth = busyAuth{} })
	c := e.dial()
	c.ok("USER " + testUser)
	c.errResp("PASS "+testPass, " [SYS/TEMP] ")
	c.errResp("AUTH PLAIN "+plain("", testUser, testPass), " [SYS/TEMP] ")
}
