package web

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

type fakeDomains map[string]bool

func (f fakeDomains) IsLocalDomain(_ context.Context, d string) (bool, error) { return f[d], nil }

type fakeAuth struct{}

func (fakeAuth) Login(_ context.Context, _ netip.Addr, user, pw string) (storage.User, error) {
	a, err := storage.ParseAddress(user)
	if err != nil || pw != "pw" {
		return storage.User{}, storage.ErrAuthFailed
	}
	return storage.User{Address: a, Enabled: true}, nil
}

var testServices = Services{Hostname: "mail.example.com", IMAP: 143, IMAPS: 993, POP3: 110, POP3S: 995, Submission: 587, Submissions: 465}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{Services: testServices, Domains: fakeDomains{"example.com": true}, Auth: fakeAuth{},
		MTASTS: &MTASTSPolicy{Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 168 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *Server, r *http.Request) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAutoconfig(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name, target, host string
		status             int
	}{
		{"address", "/mail/config-v1.1.xml?emailaddress=Alice@Example.com", "autoconfig.example.com", 200},
		{"well-known", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.com", "example.com", 200},
		{"host only", "/mail/config-v1.1.xml", "autoconfig.example.com", 200},
		{"unknown domain", "/mail/config-v1.1.xml?emailaddress=bob@other.org", "autoconfig.other.org", 404},
		{"bad address", "/mail/config-v1.1.xml?emailaddress=nobody", "autoconfig.example.com", 400},
		{"no address", "/mail/config-v1.1.xml", "mail.example.com", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = tc.host
			resp, body := do(t, s, r)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			var cc ClientConfig
			if err := xml.Unmarshal([]byte(body), &cc); err != nil {
				t.Fatal(err)
			}
			p := cc.Provider
			if cc.Version != "1.1" || p.ID != "example.com" || len(p.Incoming) != 4 || len(p.Outgoing) != 2 {
				t.Fatalf("unexpected config: %+v", cc)
			}
			if in := p.Incoming[0]; in.Type != "imap" || in.Port != 993 || in.SocketType != "SSL" || in.Username != "%EMAILADDRESS%" || in.Hostname != "mail.example.com" {
				t.Errorf("first incoming: %+v", in)
			}
			if out := p.Outgoing[1]; out.Port != 587 || out.SocketType != "STARTTLS" {
				t.Errorf("second outgoing: %+v", out)
			}
		})
	}
}

const poxRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

func TestAutodiscoverTrap(t *testing.T) {
	t.Parallel()
	// Implicit TLS ports: SSL on, no Encryption; STARTTLS ports: Encryption TLS.
	only := Services{Hostname: "h", IMAP: 143, Submission: 587}
	for _, p := range only.Autodiscover("a@b").Protocol {
		if p.Encryption != "TLS" {
			t.Errorf("STARTTLS %s %d: Encryption %q", p.Type, p.Port, p.Encryption)
		}
	}
	for _, p := range testServices.Autodiscover("a@b").Protocol {
		if p.Encryption != "" || p.SSL != "on" || (p.Port != 993 && p.Port != 465) {
			t.Errorf("implicit TLS: %+v", p)
		}
	}
}

func TestAutodiscover(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	post := func(addr string) string {
		r := httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", strings.NewReader(strings.Replace(poxRequest, "%s", addr, 1)))
		resp, body := do(t, s, r)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return body
	}
	body := post("alice@example.com")
	for _, want := range []string{`<Autodiscover xmlns="` + nsResponse + `">`, `<Response xmlns="` + nsOutlookResponse + `">`,
		"<Type>IMAP</Type>", "<Port>993</Port>", "<Port>465</Port>", "<LoginName>alice@example.com</LoginName>"} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, "<Encryption>") {
		t.Errorf("Encryption on an implicit-TLS answer:\n%s", body)
	}
	body = post("bob@other.org")
	if !strings.Contains(body, "<ErrorCode>500</ErrorCode>") || strings.Contains(body, "<Account>") {
		t.Errorf("unknown domain answer:\n%s", body)
	}
	r := httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", strings.NewReader("not xml"))
	if _, body := do(t, s, r); !strings.Contains(body, "<ErrorCode>600</ErrorCode>") {
		t.Errorf("invalid request answer:\n%s", body)
	}
}

func TestAutodiscoverJSON(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		target string
		status int
		want   string
	}{
		{"/autodiscover/autodiscover.json?Email=alice@example.com&Protocol=AutodiscoverV1", 200, `"Url":"https://mail.example.com/autodiscover/autodiscover.xml"`},
		{"/autodiscover/autodiscover.json/v1.0/alice@example.com?Protocol=AutodiscoverV1", 200, `"Protocol":"AutodiscoverV1"`},
		{"/autodiscover/autodiscover.json?Email=alice@example.com&Protocol=ActiveSync", 400, "ProtocolNotSupported"},
		{"/autodiscover/autodiscover.json?Email=bob@other.org&Protocol=AutodiscoverV1", 404, "UserNotFound"},
	} {
		resp, body := do(t, s, httptest.NewRequest("GET", tc.target, nil))
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.target, resp.StatusCode, body)
		}
	}
}

func TestMTASTS(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	r := httptest.NewRequest("GET", "/.well-known/mta-sts.txt", nil)
	if resp, _ := do(t, s, r); resp.StatusCode != 404 {
		t.Errorf("plain HTTP: %d, want 404", resp.StatusCode)
	}
	r.TLS = &tls.ConnectionState{}
	resp, body := do(t, s, r)
	want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"
	if resp.StatusCode != 200 || body != want || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("policy: %d %q", resp.StatusCode, body)
	}
	p := MTASTSPolicy{Mode: "enforce", MX: []string{"mail.example.com"}, MaxAge: 168 * time.Hour}
	if id := p.ID(); len(id) != 16 || id != p.ID() {
		t.Errorf("id %q", id)
	}
}

func TestProfile(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	r := httptest.NewRequest("GET", "/profile.mobileconfig", nil)
	r.TLS = &tls.ConnectionState{}
	if resp, _ := do(t, s, r); resp.StatusCode != 401 {
		t.Fatalf("no auth: %d", resp.StatusCode)
	}
	r.SetBasicAuth("alice@example.com", "wrong")
	if resp, _ := do(t, s, r); resp.StatusCode != 401 {
		t.Fatalf("bad password: %d", resp.StatusCode)
	}
	r.SetBasicAuth("alice@example.com", "pw")
	resp, body := do(t, s, r)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Fatalf("profile: %d %s", resp.StatusCode, body)
	}
	// Well-formed XML with the settings.
	dec := xml.NewDecoder(strings.NewReader(body))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("profile is not well-formed: %v\n%s", err, body)
		}
	}
	for _, want := range []string{"<string>com.apple.mail.managed</string>", "<key>IncomingMailServerPortNumber</key>\n\t\t\t<integer>993</integer>",
		"<key>OutgoingMailServerPortNumber</key>\n\t\t\t<integer>465</integer>", "<string>alice@example.com</string>"} {
		if !strings.Contains(body, want) {
			t.Errorf("profile lacks %q:\n%s", want, body)
		}
	}
	r.TLS = nil
	if resp, _ := do(t, s, r); resp.StatusCode != 404 {
		t.Errorf("plain HTTP: %d, want 404", resp.StatusCode)
	}
}
