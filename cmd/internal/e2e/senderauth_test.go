package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// failingDNS serves d's records but answers SERVFAIL for the names in
// fail, to produce DNS temperrors. It returns its "127.0.0.1:PORT".
func failingDNS(t *testing.T, d *testDNS, fail ...string) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		for _, q := range req.Question {
			for _, f := range fail {
				if strings.EqualFold(q.Name, f) {
					m := new(dns.Msg)
					m.SetRcode(req, dns.RcodeServerFailure)
					w.WriteMsg(m)
					return
				}
			}
		}
		d.ServeDNS(w, req)
	})
	pc, l := listenDNS(t)
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: l, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return pc.LocalAddr().String()
}

// dkimSign signs msg for domain with selector "sel".
func dkimSign(t *testing.T, key ed25519.PrivateKey, domain, msg string) string {
	t.Helper()
	var b bytes.Buffer
	err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: "sel", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSenderAuthentication drives SPF, DKIM and DMARC through the real
// binary against a test DNS server: each case's SMTP reply, the folder
// the message lands in and its Authentication-Results header.
func TestSenderAuthentication(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dkimRecord := fmt.Sprintf(`sel._domainkey.%%s. TXT "v=DKIM1; k=ed25519; p=%s"`, base64.StdEncoding.EncodeToString(pub))
	d := startDNS(t,
		`pass.test. TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`_dmarc.pass.test. TXT "v=DMARC1; p=reject"`,
		`fail.test. TXT "v=spf1 -all"`,
		`_dmarc.fail.test. TXT "v=DMARC1; p=reject"`,
		`soft.test. TXT "v=spf1 ~all"`,
		`_dmarc.soft.test. TXT "v=DMARC1; p=quarantine"`,
		`neutral.test. TXT "v=spf1 ?all"`,
		`_dmarc.neutral.test. TXT "v=DMARC1; p=none"`,
		`none.test. A 192.0.2.1`,
		`_dmarc.temp.test. TXT "v=DMARC1; p=reject"`,
		// DKIM: SPF fails, an aligned signature passes DMARC.
		`signed.test. TXT "v=spf1 -all"`,
		`_dmarc.signed.test. TXT "v=DMARC1; p=reject"`,
		fmt.Sprintf(dkimRecord, "signed.test"),
		// Organisational domain: the policy of lax.test covers
		// news.lax.test (relaxed alignment with mail.lax.test).
		`lax.test. TXT "v=spf1 -all"`,
		`_dmarc.lax.test. TXT "v=DMARC1; p=none"`,
		fmt.Sprintf(dkimRecord, "lax.test"),
		`bounce.sub.pass.test. TXT "v=spf1 ip4:127.0.0.1 -all"`,
	)
	resolver := failingDNS(t, d, "temp.test.")
	s := startServer(t, "", `senderauth.enabled = true`, fmt.Sprintf(`dns.resolver = %q`, resolver))

	type tc struct {
		name     string
		from     string // envelope and header From (unless header set)
		header   string // header From address when different
		msg      func(string) string
		code     int // 0 = accepted
		enhanced smtp.EnhancedCode
		folder   string   // "" INBOX, ".Junk"
		want     []string // in the Authentication-Results field
	}
	plain := func(m string) string { return m }
	cases := []tc{
		{name: "spfpass", from: "a@pass.test", msg: plain, want: []string{"spf=pass smtp.mailfrom=a@pass.test", "dkim=none", "dmarc=pass header.from=pass.test"}},
		{name: "spffail", from: "a@fail.test", msg: plain, code: 550, enhanced: smtp.EnhancedCode{5, 7, 1}},
		{name: "softfail", from: "a@soft.test", msg: plain, folder: ".Junk", want: []string{"spf=softfail smtp.mailfrom=a@soft.test", "dmarc=fail", "header.from=soft.test"}},
		{name: "neutral", from: "a@neutral.test", msg: plain, want: []string{"spf=neutral", "dmarc=fail", "p=none"}},
		{name: "none", from: "a@none.test", msg: plain, want: []string{"spf=none smtp.mailfrom=a@none.test", "dkim=none", "dmarc=none"}},
		{name: "temperror", from: "a@temp.test", msg: plain, code: 451, enhanced: smtp.EnhancedCode{4, 4, 3}},
		{name: "dkimpass", from: "a@signed.test", msg: func(m string) string { return dkimSign(t, key, "signed.test", m) }, want: []string{"spf=fail", "dkim=pass header.d=signed.test", "dmarc=pass header.from=signed.test"}},
		{name: "bodyhash", from: "a@mail.lax.test", header: "a@news.lax.test", msg: func(m string) string {
			return strings.Replace(dkimSign(t, key, "lax.test", m), "Hello", "Hijacked", 1)
		}, want: []string{"dkim=fail", "header.d=lax.test", "body hash", "dmarc=fail", "header.from=news.lax.test"}},
		{name: "dkimreject", from: "a@signed.test", msg: func(m string) string {
			return strings.Replace(dkimSign(t, key, "signed.test", m), "Hello", "Hijacked", 1)
		}, code: 550, enhanced: smtp.EnhancedCode{5, 7, 1}},
		{name: "relaxedspf", from: "b@bounce.sub.pass.test", header: "a@pass.test", msg: plain, want: []string{"spf=pass", "dmarc=pass header.from=pass.test"}},
	}
	for _, c := range cases {
		s.addUser(c.name + "@acme.test")
	}
	for _, c := range cases {
		hdrFrom := c.from
		if c.header != "" {
			hdrFrom = c.header
		}
		msg := c.msg(fmt.Sprintf("From: <%s>\r\nTo: %s@acme.test\r\nSubject: %s\r\n"+
			"Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=forged@example\r\n"+
			"Authentication-Results: other.example; spf=pass smtp.mailfrom=kept@example\r\n"+
			"X-Yubin-Junk: no\r\n\r\nHello\r\n", hdrFrom, c.name, c.name))
		err := sendWithGo(s.smtpAddr(), c.from, []string{c.name + "@acme.test"}, []byte(msg))
		if c.code != 0 {
			if err == nil {
				t.Errorf("%s: accepted, want %d", c.name, c.code)
				continue
			}
			wantSMTPError(t, err, c.code, c.enhanced)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		user := c.name + "@acme.test"
		s.waitDelivered(user, 1)
		dir := filepath.Join(s.maildir(user), c.folder, "new")
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("%s: %d messages in %s, want 1", c.name, len(ents), dir)
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, ents[0].Name()))
		got := string(b)
		head, _, _ := strings.Cut(got, "\r\n\r\n")
		ar := authResults(head)
		if len(ar) != 2 || !strings.HasPrefix(ar[0], "Authentication-Results: mail.example.test;") || !strings.Contains(ar[1], "other.example") {
			t.Errorf("%s: Authentication-Results fields = %q", c.name, ar)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(ar[0], w) {
				t.Errorf("%s: %q lacks %q", c.name, ar[0], w)
			}
		}
		if strings.Contains(head, "\nX-Yubin-Junk:") || strings.Contains(head, "forged@example") {
			t.Errorf("%s: internal or forged header survived:\n%s", c.name, head)
		}
	}
}

// authResults returns the unfolded Authentication-Results fields of head.
func authResults(head string) []string {
	var out []string
	lines := strings.Split(head, "\r\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(strings.ToLower(lines[i]), "authentication-results:") {
			continue
		}
		f := lines[i]
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			f += " " + strings.TrimSpace(lines[i])
		}
		out = append(out, f)
	}
	return out
}

var _ = time.Second
