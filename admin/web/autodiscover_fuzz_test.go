package web

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// checkResponse asserts a well-formed answer: a valid status, a
// Content-Type, and a body that parses as what the Content-Type says.
func checkResponse(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 599 {
		t.Fatalf("%s: status %d", what, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		t.Fatalf("%s: no Content-Type", what)
	}
	switch {
	case strings.HasPrefix(ct, "application/xml"):
		d := xml.NewDecoder(bytes.NewReader(body))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: XML answer does not parse: %v\n%s", what, err, body)
			}
		}
	case strings.HasPrefix(ct, "application/json"):
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: JSON answer does not parse: %v\n%s", what, err, body)
		}
	}
}

// FuzzAutodiscover posts arbitrary bodies to the Outlook POX endpoint and
// asks autoconfig / the JSON endpoint about arbitrary addresses.
func FuzzAutodiscover(f *testing.F) {
	for _, addr := range []string{"alice@example.com", "bob@other.org", "", "a\"b@example.com", "<x>@example.com", "]]>@example.com", "\x00@example.com"} {
		f.Add([]byte(strings.Replace(poxRequest, "%s", addr, 1)), addr)
	}
	f.Add([]byte("not xml"), "not an address")
	f.Add([]byte(`<Autodiscover><Request><EMailAddress>alice@example.com</EMailAddress><AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>`), "Alice@Example.COM")
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Autodiscover><Request><EMailAddress>&a;@example.com</EMailAddress></Request></Autodiscover>`), "\"a b\"@example.com")
	s, err := New(Options{Services: testServices, Domains: fakeDomains{"example.com": true}, Auth: fakeAuth{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, addr string) {
		for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("POST", path, bytes.NewReader(body)))
			checkResponse(t, "POST "+path, w)
			if w.Code == http.StatusOK && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/xml") {
				t.Fatalf("POST %s: 200 without XML", path)
			}
			if w.Code == http.StatusOK {
				var r AutodiscoverResponse
				if err := xml.Unmarshal(w.Body.Bytes(), &r); err != nil {
					t.Fatalf("POST %s: answer does not decode: %v", path, err)
				}
				if (r.Response.Account == nil) == (r.Response.Error == nil) {
					t.Fatalf("POST %s: want exactly one of Account and Error: %s", path, w.Body)
				}
			}
		}
		q := url.Values{"emailaddress": {addr}}.Encode()
		for _, target := range []string{
			"/mail/config-v1.1.xml?" + q,
			"/.well-known/autoconfig/mail/config-v1.1.xml?" + q,
			"/autodiscover/autodiscover.json?" + url.Values{"Email": {addr}, "Protocol": {"AutodiscoverV1"}}.Encode(),
			"/autodiscover/autodiscover.json/v1.0/" + url.PathEscape(addr) + "?Protocol=AutodiscoverV1",
		} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", target, nil)
			r.Host = "autoconfig.example.com"
			s.ServeHTTP(w, r)
			checkResponse(t, "GET "+target, w)
			if w.Code == http.StatusOK && strings.Contains(target, "config-v1.1") {
				var cc ClientConfig
				if err := xml.Unmarshal(w.Body.Bytes(), &cc); err != nil {
					t.Fatalf("GET %s: answer does not decode: %v", target, err)
				}
			}
		}
	})
}
