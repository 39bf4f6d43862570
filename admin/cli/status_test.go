package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yubin/admin/control"
)

func TestStatusProblems(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		st   control.Status
		want []string
	}{
		{"healthy", control.Status{Hostname: "mail.example.com", Certificate: &control.Certificate{DNSNames: []string{"mail.example.com"}, NotAfter: now.Add(60 * 24 * time.Hour)}}, nil},
		{"expiring", control.Status{Hostname: "mail.example.com", Certificate: &control.Certificate{DNSNames: []string{"*.example.com"}, NotAfter: now.Add(3 * 24 * time.Hour)}}, []string{"expires in 3 days"}},
		{"expired, self-signed, wrong name", control.Status{Hostname: "mail.example.com", Certificate: &control.Certificate{DNSNames: []string{"other.test"}, NotAfter: now.Add(-time.Hour), SelfSigned: true}},
			[]string{"expired", "self-signed", "does not cover"}},
		{"old queue", control.Status{Hostname: "h.test", OldestQueued: now.Add(-49 * time.Hour)}, []string{"has waited 49h"}},
	} {
		got := statusProblems(tc.st, now)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %d problems", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q lacks %q", tc.name, got[i], w)
			}
		}
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("hostname = \"mail.example.com\"\n[http]\nmta_sts_mode = \"testing\"\n"), 0o600)
	out, _, err := run(t, dir, "", "config", "check", good)
	if err != nil || !strings.Contains(out, "OK (hostname mail.example.com") {
		t.Errorf("good config: %v %s", err, out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("hostname = \"mail.example.com\"\n[http]\nmta_sts_mode = \"on\"\n"), 0o600)
	if _, errOut, err := run(t, dir, "", "config", "check", bad); err == nil || !strings.Contains(errOut, "http.mta_sts_mode") {
		t.Errorf("bad config: %v %s", err, errOut)
	}
	missingCert := filepath.Join(dir, "cert.toml")
	os.WriteFile(missingCert, []byte("hostname = \"mail.example.com\"\n[tls]\ncert_file = \"/nonexistent.crt\"\nkey_file = \"/nonexistent.key\"\n"), 0o600)
	if _, errOut, err := run(t, dir, "", "config", "check", missingCert); err == nil || !strings.Contains(errOut, "tls.cert_file") {
		t.Errorf("missing certificate: %v %s", err, errOut)
	}
}

func TestDNSZoneOffline(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	run(t, dir, "", "domain", "add", "acme.test")
	out, errOut, err := run(t, dir, "", "dns", "acme.test", "--ip", "192.0.2.1", "--ip", "2001:db8::1")
	if err != nil {
		t.Fatalf("%v %s", err, errOut)
	}
	for _, want := range []string{"IN A 192.0.2.1", "IN AAAA 2001:db8::1", `"v=spf1 mx -all"`, "_imaps._tcp.acme.test. IN SRV 0 1 993 ",
		"_submission._tcp.acme.test. IN SRV 0 1 587 ", "_autodiscover._tcp.acme.test. IN SRV 0 1 443 "} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := run(t, dir, "", "dns", "unknown.test", "--ip", "192.0.2.1"); err == nil {
		t.Error("dns for a domain that is not local succeeded")
	}
}

func TestResolverProblems(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(conf, []byte("# comment\nnameserver 1.1.1.1\nnameserver 192.0.2.53\n"), 0o644)
	if got := resolverProblems("", nil, conf); got != nil {
		t.Errorf("no zones: %v", got)
	}
	if got := resolverProblems("", []string{"zen.spamhaus.org"}, conf); len(got) != 1 || !strings.Contains(got[0], "Cloudflare") {
		t.Errorf("system resolver 1.1.1.1: %v", got)
	}
	if got := resolverProblems("8.8.8.8:53", []string{"zen.spamhaus.org"}, conf); len(got) != 1 || !strings.Contains(got[0], "Google") {
		t.Errorf("dns.resolver 8.8.8.8: %v", got)
	}
	if got := resolverProblems("127.0.0.1:53", []string{"zen.spamhaus.org"}, conf); got != nil {
		t.Errorf("local resolver: %v", got)
	}
}
