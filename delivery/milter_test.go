package delivery

import (
	"context"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-milter"
)

// testMilter rejects, tempfails, discards or tags depending on the
// Subject it sees, and records the envelope.
type testMilter struct {
	milter.NoOpMilter
	mu      *sync.Mutex
	seen    *[]string
	subject string
}

func (t *testMilter) note(s string) { t.mu.Lock(); *t.seen = append(*t.seen, s); t.mu.Unlock() }

func (t *testMilter) Connect(host, family string, port uint16, addr net.IP, m *milter.Modifier) (milter.Response, error) {
	t.note("connect " + addr.String())
	return milter.RespContinue, nil
}
func (t *testMilter) Helo(name string, m *milter.Modifier) (milter.Response, error) {
	t.note("helo " + name)
	return milter.RespContinue, nil
}
func (t *testMilter) MailFrom(from string, m *milter.Modifier) (milter.Response, error) {
	t.note("mail " + from)
	return milter.RespContinue, nil
}
func (t *testMilter) RcptTo(to string, m *milter.Modifier) (milter.Response, error) {
	t.note("rcpt " + to)
	return milter.RespContinue, nil
}
func (t *testMilter) Headers(h textproto.MIMEHeader, m *milter.Modifier) (milter.Response, error) {
	t.subject = h.Get("Subject")
	return milter.RespContinue, nil
}
func (t *testMilter) BodyChunk(b []byte, m *milter.Modifier) (milter.Response, error) {
	t.note("body " + strings.TrimSpace(string(b)))
	return milter.RespContinue, nil
}
func (t *testMilter) Body(m *milter.Modifier) (milter.Response, error) {
	switch t.subject {
	case "reject":
		return milter.RespReject, nil
	case "reply":
		return milter.NewResponseStr('y', "550 5.7.0 Spam message rejected"), nil
	case "tempfail":
		return milter.RespTempFail, nil
	case "discard":
		return milter.RespDiscard, nil
	case "quarantine":
		m.Quarantine("looks bad")
		return milter.RespAccept, nil
	}
	m.AddHeader("X-Spam", "No, score=1.0")
	m.AddHeader("Authentication-Results", "milter.test; dkim=none")
	return milter.RespAccept, nil
}

func startMilter(t *testing.T) (string, *[]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &milter.Server{
		NewMilter: func() milter.Milter { return &testMilter{mu: &mu, seen: &seen} },
		Actions:   milter.OptAddHeader | milter.OptQuarantine,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &seen
}

func TestMilterVerdicts(t *testing.T) {
	addr, seen := startMilter(t)
	m := &Milter{Network: "tcp", Address: addr, Hostname: "mx.example.com"}
	env := &Envelope{ID: "ABCDEFGH", From: "a@example.org", To: []string{"u@example.com", "v@example.com"}, Helo: "client.example.org", Remote: netip.MustParseAddrPort("192.0.2.9:5000")}
	for _, tc := range []struct {
		subject string
		want    Action
		code    int
		enh     [3]int
	}{
		{"hello", Accept, 0, [3]int{}},
		{"reject", Reject, 550, [3]int{5, 7, 1}},
		{"reply", Reject, 550, [3]int{5, 7, 0}},
		{"tempfail", TempFail, 0, [3]int{}},
		{"discard", Reject, 550, [3]int{5, 7, 1}},
		{"quarantine", Quarantine, 0, [3]int{}},
	} {
		msg := "From: a@example.org\r\nSubject: " + tc.subject + "\r\n\r\nthe body\r\n"
		v, err := m.Check(context.Background(), env, io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg))))
		if err != nil {
			t.Fatalf("%s: %v", tc.subject, err)
		}
		if v.Action != tc.want || v.Code != tc.code || v.Enhanced != tc.enh {
			t.Errorf("%s: got %v %d %v (%q)", tc.subject, v.Action, v.Code, v.Enhanced, v.Reason)
		}
		if tc.subject == "hello" {
			if len(v.AddHeaders) != 2 || v.AddHeaders[0] != (Field{"X-Spam", "No, score=1.0"}) {
				t.Errorf("headers %v", v.AddHeaders)
			}
		}
		if tc.subject == "reply" && v.Reason != "Spam message rejected" {
			t.Errorf("reply text %q", v.Reason)
		}
	}
	got := strings.Join((*seen)[:6], "|")
	want := "connect 192.0.2.9|helo client.example.org|mail a@example.org|rcpt u@example.com|rcpt v@example.com|body the body"
	if got != want {
		t.Errorf("milter saw %q, want %q", got, want)
	}
}

func TestMilterDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	msg := "Subject: x\r\n\r\nx\r\n"
	sr := io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg)))
	chain := &FilterChain{Filters: []ChainFilter{{Name: "milter", Filter: &Milter{Network: "tcp", Address: addr}}}}
	if _, err := chain.Run(context.Background(), Inbound, &Envelope{}, sr); err == nil || AsError(err).Code != 451 {
		t.Errorf("fail-closed: %v", err)
	}
}
