package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// scrapeMetrics fetches /metrics and returns each sample by its series
// ("name{labels}") and value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsMoveWithMail(t *testing.T) {
	s := startServer(t, "")
	s.addUser("alice@acme.test")
	addr := s.addrs["metrics"]
	before := scrapeMetrics(t, addr)
	if _, ok := before[`yubin_queue_messages`]; !ok {
		t.Fatalf("no queue gauge in %v", before)
	}
	sendN(t, s.smtpAddr(), "alice@acme.test", "metrics", 2)
	s.waitDelivered("alice@acme.test", 2)
	// One refused recipient and one failed login move their counters too.
	sendRefused(t, s.smtpAddr(), "nobody@acme.test")
	imapLoginFails(t, s.addrs["imap"])
	s.logs.wait(t, 30*time.Second, func(e logEntry) bool { return e.str("msg") == "login failed" })

	after := scrapeMetrics(t, addr)
	for series, delta := range map[string]float64{
		`yubin_connections_total{proto="smtp"}`:                               2,
		`yubin_messages_received_total{proto="smtp"}`:                         2,
		`yubin_messages_queued_total`:                                         2,
		`yubin_deliveries_total{result="delivered",transport="local"}`:        2,
		`yubin_delivery_latency_seconds_count{transport="local"}`:             2,
		`yubin_messages_rejected_total{code="550",proto="smtp",stage="rcpt"}`: 1,
		`yubin_logins_total{proto="imap",result="failed"}`:                    1,
	} {
		if got := after[series] - before[series]; got != delta {
			t.Errorf("%s moved by %v, want %v", series, got, delta)
		}
	}
	if after[`yubin_build_info{goversion="`+goVersion(after)+`",version="devel"}`] != 1 {
		t.Errorf("no build_info")
	}
}

// goVersion finds the goversion label of yubin_build_info.
func goVersion(m map[string]float64) string {
	for k := range m {
		if rest, ok := strings.CutPrefix(k, `yubin_build_info{goversion="`); ok {
			v, _, _ := strings.Cut(rest, `"`)
			return v
		}
	}
	return ""
}

// sendRefused tries a recipient the server refuses with 550.
func sendRefused(t *testing.T, addr, rcpt string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("sender@remote.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("RCPT %s: %v, want 550", rcpt, err)
	}
}

// imapLoginFails sends one LOGIN with a wrong password (plaintext is
// allowed on loopback in dev mode) and waits for the NO.
func imapLoginFails(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	io.WriteString(c, "a1 LOGIN alice@acme.test wrong-pw\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "a1 ") {
			if !strings.HasPrefix(line, "a1 NO") {
				t.Fatalf("LOGIN with a wrong password: %q", line)
			}
			return
		}
	}
}

func TestStatusAndConfigCheck(t *testing.T) {
	s := startServer(t, "")
	out, _, err := s.mailctl("", "status")
	// The dev certificate is self-signed: a problem, so exit status 1.
	if err == nil || !strings.Contains(out, "self-signed") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"running (pid", "mail.example.test", "imaps", s.addrs["imaps"], "https", s.addrs["https"],
		"metrics", "expires ", "0 messages, 0 recipients pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// config check: the test config is valid over the dev defaults; a
	// typo is reported with file and line.
	if out := s.mustMailctl("", "config", "check", "--dev", s.config); !strings.Contains(out, "OK") {
		t.Errorf("config check: %s", out)
	}
	bad := s.dataDir + "/bad.toml"
	if err := os.WriteFile(bad, []byte("hostname = \"mail.example.test\"\n[http]\nlisten_tsl = []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := s.mailctl("", "config", "check", bad)
	if err == nil || !strings.Contains(errOut, "bad.toml:3") || !strings.Contains(errOut, "http.listen_tsl") {
		t.Errorf("config check of a typo: %v %q", err, errOut)
	}
	s.stop()
	if out, _, err := s.mailctl("", "status"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("status of a stopped maild: %v\n%s", err, out)
	}
}
