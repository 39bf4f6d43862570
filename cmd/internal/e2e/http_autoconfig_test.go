package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// curl runs the real curl and returns its output; -k because the dev
// server's certificate is self-signed.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	needTool(t, "curl")
	out, err := exec.Command("curl", append([]string{"-sS", "-k", "--max-time", "30"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// tbConfig is the part of Thunderbird's clientConfig 1.1 the test checks,
// decoded strictly by element name.
type tbConfig struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID       string     `xml:"id,attr"`
		Domain   []string   `xml:"domain"`
		Display  string     `xml:"displayName"`
		Incoming []tbServer `xml:"incomingServer"`
		Outgoing []tbServer `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type tbServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

// greets connects to 127.0.0.1:port (the advertised host name is not in
// DNS here), with TLS when implicit, and returns the server's first line.
func greets(t *testing.T, port int, implicitTLS bool) string {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 10 * time.Second}
	if implicitTLS {
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("connect to advertised port %d: %v", port, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting on advertised port %d: %v", port, err)
	}
	return line
}

func TestHTTPAutoconfigThunderbird(t *testing.T) {
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	httpAddr := s.addrs["http"]
	if httpAddr == "" {
		t.Fatal("no http listener logged")
	}
	for _, target := range []string{
		"http://" + httpAddr + "/mail/config-v1.1.xml?emailaddress=alice%40acme.test",
		"http://" + httpAddr + "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=Alice%40ACME.test",
	} {
		body := curl(t, "-H", "Host: autoconfig.acme.test", target)
		var cc tbConfig
		dec := xml.NewDecoder(strings.NewReader(body))
		dec.Strict = true
		if err := dec.Decode(&cc); err != nil {
			t.Fatalf("autoconfig is not well-formed XML: %v\n%s", err, body)
		}
		if cc.Version != "1.1" || cc.Provider.ID != "acme.test" || len(cc.Provider.Domain) != 1 || cc.Provider.Domain[0] != "acme.test" {
			t.Fatalf("clientConfig header: %+v", cc)
		}
		if len(cc.Provider.Incoming) != 4 || len(cc.Provider.Outgoing) != 2 {
			t.Fatalf("want 4 incoming and 2 outgoing servers: %s", body)
		}
		want := map[string]string{ // type/socketType -> proto in maild's log
			"imap/SSL": "imaps", "imap/STARTTLS": "imap", "pop3/SSL": "pop3s", "pop3/STARTTLS": "pop3",
			"smtp/SSL": "submissions", "smtp/STARTTLS": "submission",
		}
		for _, srv := range append(cc.Provider.Incoming, cc.Provider.Outgoing...) {
			key := srv.Type + "/" + srv.SocketType
			proto, ok := want[key]
			if !ok {
				t.Errorf("unexpected server %+v", srv)
				continue
			}
			delete(want, key)
			if srv.Hostname != "mail.example.test" || srv.Username != "%EMAILADDRESS%" || srv.Authentication != "password-cleartext" {
				t.Errorf("%s: %+v", key, srv)
			}
			if bound := s.addrs[proto]; !strings.HasSuffix(bound, ":"+strconv.Itoa(srv.Port)) {
				t.Errorf("%s advertises port %d; maild listens for %s on %s", key, srv.Port, proto, bound)
			}
			greeting := greets(t, srv.Port, srv.SocketType == "SSL")
			prefix := map[string]string{"imap": "* OK", "pop3": "+OK", "smtp": "220"}[srv.Type]
			if !strings.HasPrefix(greeting, prefix) {
				t.Errorf("%s on port %d greets %q, want %s", key, srv.Port, greeting, prefix)
			}
		}
		if len(want) != 0 {
			t.Errorf("not advertised: %v", want)
		}
	}
	// Host name only (Thunderbird without the address) and an unknown domain.
	if body := curl(t, "-H", "Host: autoconfig.acme.test", "http://"+httpAddr+"/mail/config-v1.1.xml"); !strings.Contains(body, `<emailProvider id="acme.test">`) {
		t.Errorf("autoconfig by host name:\n%s", body)
	}
	if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "http://"+httpAddr+"/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.test"); code != "404" {
		t.Errorf("unknown domain: HTTP %s, want 404", code)
	}
}

// outlookRequest is what Outlook posts to autodiscover.
const outlookRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

type poxResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name `xml:"Response"`
		Account *struct {
			AccountType string `xml:"AccountType"`
			Action      string `xml:"Action"`
			Protocol    []struct {
				Type       string `xml:"Type"`
				Server     string `xml:"Server"`
				Port       int    `xml:"Port"`
				LoginName  string `xml:"LoginName"`
				SSL        string `xml:"SSL"`
				Encryption string `xml:"Encryption"`
				SPA        string `xml:"SPA"`
			} `xml:"Protocol"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Account"`
		Error *struct {
			ErrorCode int    `xml:"ErrorCode"`
			Message   string `xml:"Message"`
		} `xml:"Error"`
	} `xml:"Response"`
}

func TestHTTPAutodiscoverOutlook(t *testing.T) {
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	post := func(addr string) poxResponse {
		t.Helper()
		body := curl(t, "-X", "POST", "-H", "Content-Type: text/xml", "-H", "Host: autodiscover.acme.test",
			"--data-binary", fmt.Sprintf(outlookRequest, addr), "https://"+s.addrs["https"]+"/autodiscover/autodiscover.xml")
		var r poxResponse
		if err := xml.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("POX response: %v\n%s", err, body)
		}
		return r
	}
	r := post("alice@acme.test")
	if r.Response.Account == nil || r.Response.Error != nil {
		t.Fatalf("no account settings: %+v", r)
	}
	a := r.Response.Account
	if a.AccountType != "email" || a.Action != "settings" || len(a.Protocol) != 2 {
		t.Fatalf("account: %+v", a)
	}
	for _, p := range a.Protocol {
		proto := map[string]string{"IMAP": "imaps", "SMTP": "submissions"}[p.Type]
		if proto == "" || !strings.HasSuffix(s.addrs[proto], ":"+strconv.Itoa(p.Port)) {
			t.Errorf("%s port %d; maild listens on %v", p.Type, p.Port, s.addrs)
		}
		// Implicit TLS: SSL on and no Encryption element (Outlook would
		// try STARTTLS on a TLS port).
		if p.SSL != "on" || p.Encryption != "" || p.SPA != "off" || p.LoginName != "alice@acme.test" || p.Server != "mail.example.test" {
			t.Errorf("%s: %+v", p.Type, p)
		}
		greets(t, p.Port, true)
	}
	r = post("bob@elsewhere.test")
	if r.Response.Error == nil || r.Response.Error.ErrorCode != 500 || r.Response.Account != nil {
		t.Errorf("unknown domain: %+v", r.Response)
	}

	// JSON v2, as Outlook for Microsoft 365 asks first.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
	resp, err := client.Get("https://" + s.addrs["https"] + "/autodiscover/autodiscover.json/v1.0/alice@acme.test?Protocol=AutodiscoverV1")
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]string
	json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	if resp.StatusCode != 200 || j["Url"] != "https://mail.example.test/autodiscover/autodiscover.xml" {
		t.Errorf("autodiscover.json: %d %v", resp.StatusCode, j)
	}
}

func TestHTTPProfileAndMTASTS(t *testing.T) {
	s := startServer(t, "", `http.mta_sts_mode = "enforce"`)
	s.addUser("alice@acme.test")
	// mailctl asks the running maild which ports it listens on.
	profile := s.mustMailctl("", "user", "profile", "alice@acme.test")
	for _, want := range []string{
		"<string>com.apple.mail.managed</string>",
		"<string>alice@acme.test</string>",
		"<key>IncomingMailServerPortNumber</key>\n\t\t\t<integer>" + port(s.addrs["imaps"]) + "</integer>",
		"<key>OutgoingMailServerPortNumber</key>\n\t\t\t<integer>" + port(s.addrs["submissions"]) + "</integer>",
		"<string>mail.example.test</string>",
	} {
		if !strings.Contains(profile, want) {
			t.Errorf("profile lacks %q:\n%s", want, profile)
		}
	}
	if err := xml.Unmarshal([]byte(profile), new(struct{})); err != nil {
		t.Errorf("profile is not XML: %v", err)
	}
	// The same profile over HTTPS after login; a wrong password gets 401.
	https := "https://" + s.addrs["https"]
	if got := curl(t, "-u", "alice@acme.test:secret-pw", https+"/profile.mobileconfig"); got != profile {
		t.Errorf("HTTPS profile differs from mailctl's:\n%s", got)
	}
	if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice@acme.test:wrong", https+"/profile.mobileconfig"); code != "401" {
		t.Errorf("wrong password: HTTP %s", code)
	}
	policy := curl(t, "-H", "Host: mta-sts.acme.test", https+"/.well-known/mta-sts.txt")
	if want := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"; policy != want {
		t.Errorf("MTA-STS policy %q, want %q", policy, want)
	}
	// mailctl dns prints the id of the policy served.
	zone := s.mustMailctl("", "dns", "acme.test", "--ip", "192.0.2.25")
	if !strings.Contains(zone, `_mta-sts.acme.test. IN TXT "v=STSv1; id=`) || strings.Contains(zone, "; _mta-sts") {
		t.Errorf("zone lacks an active _mta-sts record:\n%s", zone)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
