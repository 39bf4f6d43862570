package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

type dnsRecord struct {
	Name, Type, Value string
	Disabled          bool
}

func TestDNSCheck(t *testing.T) {
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	s.mustMailctl("", "dkim", "generate", "acme.test", "--algorithm", "ed25519")

	var records []dnsRecord
	if err := json.Unmarshal([]byte(s.mustMailctl("", "dns", "acme.test", "--ip", "127.0.0.1", "--json")), &records); err != nil {
		t.Fatal(err)
	}
	byName := map[string]dnsRecord{}
	for _, r := range records {
		byName[r.Type+" "+r.Name] = r
	}
	dkim := ""
	for _, r := range records {
		if strings.Contains(r.Name, "._domainkey.") {
			dkim = r.Name
		}
	}
	if dkim == "" {
		t.Fatalf("no DKIM record in %v", records)
	}
	// The zone-file form is what the admin pastes.
	zone := s.mustMailctl("", "dns", "acme.test", "--ip", "127.0.0.1")
	for _, want := range []string{
		"acme.test. IN MX 10 mail.example.test.",
		"mail.example.test. IN A 127.0.0.1",
		`acme.test. IN TXT "v=spf1 mx -all"`,
		`_dmarc.acme.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@acme.test"`,
		`_smtp._tls.acme.test. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@acme.test"`,
		"; _mta-sts.acme.test. IN TXT", // MTA-STS is off: commented out
		"_imaps._tcp.acme.test. IN SRV 0 1 " + port(s.addrs["imaps"]) + " mail.example.test.",
		"_submission._tcp.acme.test. IN SRV 0 1 " + port(s.addrs["submission"]) + " mail.example.test.",
		"autoconfig.acme.test. IN CNAME mail.example.test.",
		"_autodiscover._tcp.acme.test. IN SRV 0 1 " + port(s.addrs["https"]) + " mail.example.test.",
		dkim + ` IN TXT "v=DKIM1; k=ed25519; p=`,
	} {
		if !strings.Contains(zone, want) {
			t.Errorf("zone lacks %q:\n%s", want, zone)
		}
	}

	// Right: MX, A, SPF (beside an unrelated TXT), DKIM, imaps SRV,
	// autoconfig CNAME, autodiscover by A record. Wrong: DMARC policy,
	// submission SRV port, TLS-RPT address. Everything else missing.
	d := startDNS(t,
		"acme.test. MX 20 mail.example.test.",
		"mail.example.test. A 127.0.0.1",
		`acme.test. TXT "google-site-verification=abc"`,
		`acme.test. TXT "v=spf1 mx -all"`,
		dkim+` TXT "`+byName["TXT "+dkim].Value+`"`,
		`_dmarc.acme.test. TXT "v=DMARC1; p=none"`,
		`_smtp._tls.acme.test. TXT "v=TLSRPTv1; rua=mailto:tls@other.test"`,
		"_imaps._tcp.acme.test. SRV 0 1 "+port(s.addrs["imaps"])+" mail.example.test.",
		"_submission._tcp.acme.test. SRV 0 1 2525 mail.example.test.",
		"autoconfig.acme.test. CNAME mail.example.test.",
		"autodiscover.acme.test. A 127.0.0.1",
	)
	out, errOut, err := s.mailctl("", "dns", "check", "acme.test", "--ip", "127.0.0.1", "--resolver", d.Addr)
	if err == nil {
		t.Fatalf("dns check passed with missing records:\n%s", out)
	}
	status := map[string]string{} // "TYPE NAME" -> line
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("bad line %q", line)
		}
		status[f[1]+" "+f[2]] = line
	}
	for key, want := range map[string]string{
		"MX acme.test.":                     "OK",
		"A mail.example.test.":              "OK",
		"TXT acme.test.":                    "OK",
		"TXT " + dkim:                       "OK",
		"SRV _imaps._tcp.acme.test.":        "OK",
		"CNAME autoconfig.acme.test.":       "OK",
		"CNAME autodiscover.acme.test.":     "OK",
		"TXT _dmarc.acme.test.":             "different",
		"SRV _submission._tcp.acme.test.":   "different",
		"TXT _smtp._tls.acme.test.":         "different",
		"SRV _imap._tcp.acme.test.":         "missing",
		"SRV _submissions._tcp.acme.test.":  "missing",
		"SRV _autodiscover._tcp.acme.test.": "missing",
	} {
		line, ok := status[key]
		if !ok {
			t.Errorf("%s not checked:\n%s", key, out)
			continue
		}
		if !strings.HasPrefix(line, want+" ") {
			t.Errorf("%s: got %q, want %s", key, line, want)
		}
	}
	if line := status["TXT _dmarc.acme.test."]; !strings.Contains(line, "found: v=DMARC1; p=none") {
		t.Errorf("DMARC line does not say what was found: %q", line)
	}
	if line := status["SRV _submission._tcp.acme.test."]; !strings.Contains(line, "found: 0 1 2525 mail.example.test.") {
		t.Errorf("SRV line does not say what was found: %q", line)
	}
	if _, ok := status["TXT _mta-sts.acme.test."]; ok {
		t.Error("MTA-STS is off but its record was checked")
	}
	if !strings.Contains(errOut, "missing or different") {
		t.Errorf("stderr: %q", errOut)
	}
}
