package delivery

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSmarthost(t *testing.T) {
	t.Parallel()
	cert, roots := testCert(t, "127.0.0.1")
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	for _, tc := range []struct {
		mode     string
		implicit bool
		tls      bool
	}{
		{"starttls", false, true},
		{"tls", true, true},
		{"none", false, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			var cfg *tls.Config
			if tc.mode != "none" {
				cfg = srvTLS
			}
			relay := startSink(t, sinkOptions{tls: cfg, implicit: tc.implicit, auth: [2]string{"relayuser", "s3cret"}})
			// MX lookups would fail: everything must go to the relay.
			e := newRemoteEnv(t, &fakeDNS{}, 1, func(_ *Options, ro *RemoteOptions) {
				ro.Smarthost = Smarthost{Addr: relay.addr, TLS: tc.mode, Username: "relayuser", PasswordFile: pwFile, TLSConfig: &tls.Config{RootCAs: roots}}
			})
			id := e.send(t, "alice@acme.test", "bob@remote.test", "carol@elsewhere.test")
			e.waitSettled(t, id)
			msgs := relay.messages()
			if len(msgs) != 2 {
				t.Fatalf("relay got %d messages, want 2 (one per domain)", len(msgs))
			}
			for _, m := range msgs {
				if m.Auth != "relayuser" || m.TLS != tc.tls {
					t.Errorf("relay message auth=%q tls=%v, want relayuser %v", m.Auth, m.TLS, tc.tls)
				}
			}
		})
	}
}

func TestSmarthostRequiresValidCertificate(t *testing.T) {
	t.Parallel()
	cert, _ := testCert(t, "127.0.0.1")
	relay := startSink(t, sinkOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	e := newRemoteEnv(t, &fakeDNS{}, 1, func(o *Options, ro *RemoteOptions) {
		ro.Smarthost = Smarthost{Addr: relay.addr, TLS: "starttls"} // system roots: untrusted
		o.RetryMin, o.RetryMax = time.Hour, time.Hour
	})
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.logs.waitCount(t, 1, "deferred", "queue_id", string(id))
	ent, _ := e.q.Show(context.Background(), id)
	if len(relay.messages()) != 0 || !strings.Contains(ent.Recipients[0].LastError, "4.7.5 TLS handshake") {
		t.Fatalf("untrusted smarthost: %+v", ent)
	}
}

func TestSmarthostDomainsOnly(t *testing.T) {
	t.Parallel()
	relay := startSink(t, sinkOptions{})
	mx := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("direct.test"), mx.port, func(_ *Options, ro *RemoteOptions) {
		ro.Smarthost = Smarthost{Addr: relay.addr, TLS: "none", Domains: []string{"Relayed.test"}}
	})
	e.waitSettled(t, e.send(t, "alice@acme.test", "a@relayed.test", "b@direct.test"))
	if r, m := relay.messages(), mx.messages(); len(r) != 1 || r[0].To[0] != "a@relayed.test" || len(m) != 1 || m[0].To[0] != "b@direct.test" {
		t.Fatalf("relay got %+v, MX got %+v", r, m)
	}
}
