package config

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// fakeDomains is a set of local domains; err, when set, fails every lookup.
type fakeDomains struct {
	names map[string]bool
	err   error
	calls int
}

func (f *fakeDomains) IsLocalDomain(_ context.Context, d string) (bool, error) {
	f.calls++
	return f.names[d], f.err
}

func TestACMEHostPolicy(t *testing.T) {
	doms := &fakeDomains{names: map[string]bool{"example.org": true}}
	policy := ACMEHostPolicy("Mail.Example.NET.", doms)
	ctx := context.Background()
	for _, name := range []string{"mail.example.net", "MAIL.example.net.", "autoconfig.example.org", "autodiscover.example.org", "mta-sts.example.org", "mail.example.net:80"} {
		if err := policy(ctx, name); err != nil {
			t.Errorf("%s: %v, want allowed", name, err)
		}
	}
	for _, name := range []string{"example.org", "www.example.org", "autoconfig.other.org", "autoconfig.", "mail.example.net.evil.test", "x.mail.example.net", "autoconfig.autoconfig.example.org"} {
		if err := policy(ctx, name); err == nil {
			t.Errorf("%s: allowed, want refused", name)
		}
	}
	// Domains are asked at each call: a domain added later is covered.
	doms.names["new.example"] = true
	if err := policy(ctx, "mta-sts.new.example"); err != nil {
		t.Errorf("after adding a domain: %v", err)
	}
	doms.err = errors.New("database is locked")
	if err := policy(ctx, "autoconfig.example.org"); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("lookup error: got %v", err)
	}
}

// newTestACME returns ACME certificates whose cache already holds
// self-signed certificates for each of names, and whose directory is
// unreachable, so nothing is issued.
func newTestACME(t *testing.T, hostname string, doms LocalDomains, names ...string) *Certificates {
	t.Helper()
	tlsDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tlsDir, "acme"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		certPEM, keyPEM, err := generateSelfSigned(name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// autocert's cache entry: the key, then the chain (ECDSA key: the
		// key is the bare name).
		if err := os.WriteFile(filepath.Join(tlsDir, "acme", name), append(keyPEM, certPEM...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := TLS{ACME: true, ACMEDirectory: "https://127.0.0.1:1/directory"}
	cs, err := NewACMECertificates(c, tlsDir, hostname, doms, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// acmeHandshake connects to a server using cfg with serverName as SNI ("" for
// none) and returns the leaf certificate's DNS names.
func acmeHandshake(t *testing.T, cfg *tls.Config, serverName string, protos ...string) ([]string, error) {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	srvErr := make(chan error, 1)
	go func() {
		s := tls.Server(sc, cfg)
		srvErr <- s.Handshake()
		s.Close()
	}()
	cl := tls.Client(cc, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, NextProtos: protos})
	cl.SetDeadline(time.Now().Add(60 * time.Second))
	if err := cl.Handshake(); err != nil {
		<-srvErr
		return nil, err
	}
	if err := <-srvErr; err != nil {
		return nil, err
	}
	return cl.ConnectionState().PeerCertificates[0].DNSNames, nil
}

func TestACMEFallbackToHostname(t *testing.T) {
	doms := &fakeDomains{names: map[string]bool{"example.org": true}}
	cs := newTestACME(t, "mail.example.net", doms, "mail.example.net", "autoconfig.example.org")
	if cs.Leaf() != nil {
		t.Errorf("Leaf before any handshake: want nil")
	}
	cfg := cs.TLSConfig()
	for _, tc := range []struct{ sni, want string }{
		{"", "mail.example.net"},                             // no SNI (many MTAs)
		{"mail.example.net", "mail.example.net"},             // the hostname
		{"autoconfig.example.org", "autoconfig.example.org"}, // its own certificate
		{"unknown.example.com", "mail.example.net"},          // not allowed: the hostname's
		{"autoconfig.other.org", "mail.example.net"},         // not a local domain
	} {
		names, err := acmeHandshake(t, cfg, tc.sni)
		if err != nil {
			t.Errorf("SNI %q: %v", tc.sni, err)
			continue
		}
		if !slices.Contains(names, tc.want) {
			t.Errorf("SNI %q: certificate for %v, want %s", tc.sni, names, tc.want)
		}
	}
	if l := cs.Leaf(); l == nil || l.VerifyHostname("mail.example.net") != nil {
		t.Errorf("Leaf after handshakes: %v, want the hostname's certificate", l)
	}
	if err := cs.Reload(); err != nil {
		t.Errorf("Reload with ACME: %v", err)
	}
	// The policy's lookup failing still serves the hostname's certificate.
	doms.err = errors.New("database is locked")
	if names, err := acmeHandshake(t, cfg, "autoconfig.example.org"); err != nil || !slices.Contains(names, "mail.example.net") {
		t.Errorf("lookup failing: %v %v, want the hostname's certificate", names, err)
	}
}

func TestACMENoCertificateYet(t *testing.T) {
	// Nothing cached and the CA unreachable: the handshake fails (no
	// certificate to serve) rather than hanging or panicking.
	cs := newTestACME(t, "mail.example.net", &fakeDomains{})
	if _, err := acmeHandshake(t, cs.TLSConfig(), ""); err == nil {
		t.Fatal("handshake succeeded without any certificate")
	}
}

func TestACMEChallengeEndpoints(t *testing.T) {
	cs := newTestACME(t, "mail.example.net", &fakeDomains{}, "mail.example.net")
	if !slices.Contains(cs.HTTPSConfig().NextProtos, acme.ALPNProto) {
		t.Errorf("HTTPSConfig NextProtos %v lacks %s", cs.HTTPSConfig().NextProtos, acme.ALPNProto)
	}
	if slices.Contains(cs.TLSConfig().NextProtos, acme.ALPNProto) {
		t.Errorf("mail listeners should not offer %s", acme.ALPNProto)
	}
	// A TLS-ALPN-01 hello with no pending challenge gets no certificate
	// (never the hostname's).
	if _, err := acmeHandshake(t, cs.HTTPSConfig(), "mail.example.net", acme.ALPNProto); err == nil {
		t.Error("acme-tls/1 handshake without a challenge succeeded")
	}
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("web")) })
	h := cs.HTTPHandler(fallback)
	for _, tc := range []struct {
		path    string
		webHits bool
	}{
		{"/mail/config-v1.1.xml", true},
		{"/.well-known/acme-challenge/unknown-token", false},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://mail.example.net"+tc.path, nil))
		if got := rec.Body.String() == "web"; got != tc.webHits {
			t.Errorf("%s: reached the web mux = %v, want %v (status %d)", tc.path, got, tc.webHits, rec.Code)
		}
	}
	// Without ACME the handler is the web mux itself.
	plain := &Certificates{}
	rec := httptest.NewRecorder()
	plain.HTTPHandler(fallback).ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/acme-challenge/x", nil))
	if rec.Body.String() != "web" || plain.ACME() {
		t.Errorf("without ACME: %q", rec.Body.String())
	}
}

func TestValidateACME(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*TLS)
		key  string // "" when valid
	}{
		{"on", func(c *TLS) { c.ACME = true; c.ACMEEmail = "postmaster@example.org" }, ""},
		{"staging", func(c *TLS) {
			c.ACME = true
			c.ACMEDirectory = "https://acme-staging-v02.api.letsencrypt.org/directory"
		}, ""},
		{"with files", func(c *TLS) { c.ACME = true; c.CertFile = "a.crt"; c.KeyFile = "a.key" }, "tls.acme"},
		{"bad email", func(c *TLS) { c.ACME = true; c.ACMEEmail = "postmaster" }, "tls.acme_email"},
		{"bad directory", func(c *TLS) { c.ACME = true; c.ACMEDirectory = "acme.example/dir" }, "tls.acme_directory"},
	} {
		c := Default()
		tc.set(&c.TLS)
		err := c.Validate()
		switch {
		case tc.key == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.key != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.key+":")):
			t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.key)
		}
	}
}
