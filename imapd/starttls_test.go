package imapd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testTLSConfig is a server config with a fresh self-signed certificate.
func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imapd.test"},
		DNSNames:     []string{"imapd.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestStartTLS: without TLS a client is told LOGINDISABLED and STARTTLS
// before it sends a password, and LOGIN is refused; after STARTTLS it may
// log in. A command pipelined after STARTTLS (it would be taken as sent
// under TLS, CVE-2011-0411) is refused and the connection closed.
func TestStartTLS(t *testing.T) {
	t.Parallel()
	cfg := testTLSConfig(t)
	ts := startTestServerWith(t, func(o *Options) {
		o.TLS = cfg
		o.PlaintextOnLoopback = false
	})
	c := ts.dialWire(t)
	u, _ := c.cmd("A", "CAPABILITY")
	if len(u) != 1 || !strings.Contains(u[0], " STARTTLS") || !strings.Contains(u[0], " LOGINDISABLED") || strings.Contains(u[0], "AUTH=") {
		t.Errorf("CAPABILITY without TLS: %q", u)
	}
	c.must("LOGIN "+testUser+" "+testPassword, "NO [PRIVACYREQUIRED]")
	c.must("AUTHENTICATE PLAIN AHVzZXJAaW1hcGQudGVzdABpbWFwZC10ZXN0LXB3", "NO [PRIVACYREQUIRED]")

	// Pipelined: refused, closed.
	p := ts.dialWire(t)
	p.send("A STARTTLS\r\nB NOOP")
	if l := p.line(); l != "A BAD Data after STARTTLS" {
		t.Errorf("pipelined STARTTLS: %q", l)
	}
	if l, err := p.r.ReadString('\n'); err == nil {
		t.Errorf("after a refused STARTTLS: %q, want the connection closed", l)
	}

	c.send("S STARTTLS")
	if l := c.line(); !strings.HasPrefix(l, "S OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	u, _ = c.cmd("B", "CAPABILITY")
	if len(u) != 1 || strings.Contains(u[0], "STARTTLS") || strings.Contains(u[0], "LOGINDISABLED") || !strings.Contains(u[0], "AUTH=PLAIN") {
		t.Errorf("CAPABILITY under TLS: %q", u)
	}
	c.must("STARTTLS", "BAD")
	c.must("LOGIN "+testUser+" "+testPassword, "OK")
	c.must("LIST \"\" INBOX", "OK")
}
