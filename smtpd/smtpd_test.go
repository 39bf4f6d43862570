package smtpd

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"yubin/delivery"
	"yubin/storage"
)

// memQueue records enqueued messages; smtpd's own tests need no disk.
type memQueue struct{ got chan string }

func (q memQueue) Enqueue(ctx context.Context, env delivery.Envelope, msg io.Reader) (delivery.ID, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	q.got <- string(b)
	return env.ID, nil
}

func testServer(t *testing.T, opts Options) string {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	st.AddDomain(ctx, "acme.test")
	if _, err := st.AddUser(ctx, "alice@acme.test", "pw", 0); err != nil {
		t.Fatal(err)
	}
	opts.Policy = MXPolicy{Recipients: st}
	if opts.Queue == nil {
		opts.Queue = memQueue{make(chan string, 10)}
	}
	opts.Hostname = "mx.acme.test"
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

func TestConnectionLimitPerIP(t *testing.T) {
	t.Parallel()
	addr := testServer(t, Options{MaxConnectionsPerIP: 2})
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting %q", line)
		}
		conns = append(conns, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "421 4.7.0 ") {
		t.Fatalf("third connection got %q, want 421 4.7.0", line)
	}
	// Closing one frees its slot.
	conns[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", line)
		}
	}
}

func TestMXPolicyReplies(t *testing.T) {
	t.Parallel()
	q := memQueue{make(chan string, 10)}
	addr := testServer(t, Options{Queue: q, MaxRecipients: 2})
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("", nil); err != nil { // null sender is accepted
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rcpt string
		code int
	}{
		{"nobody@acme.test", 550},
		{"someone@elsewhere.test", 554},
		{"not an address", 501},
		{"alice@acme.test", 0},
		{"alice+tag@ACME.test", 0},
		{"alice@acme.test", 452}, // over max_recipients
	} {
		err := c.Rcpt(tc.rcpt, nil)
		code := 0
		if se, ok := err.(*smtp.SMTPError); ok {
			code = se.Code
		} else if err != nil {
			t.Fatalf("rcpt %q: %v", tc.rcpt, err)
		}
		if code != tc.code {
			t.Errorf("rcpt %q: code %d, want %d (%v)", tc.rcpt, code, tc.code, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: t\r\n\r\nt\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := <-q.got
	if !strings.HasPrefix(got, "Received: from client.test ([127.0.0.1])\r\n\tby mx.acme.test (Yubin) with ESMTP id ") || !strings.HasSuffix(got, "\r\nSubject: t\r\n\r\nt\r\n") {
		t.Errorf("spooled message = %q", got)
	}
}

func TestReceivedHeaderSanitizesHelo(t *testing.T) {
	t.Parallel()
	env := delivery.Envelope{ID: "AAAAAAAAAAAAAAAAAA", Helo: "evil\r\nX-Injected: yes (x)", Remote: netip.MustParseAddrPort("192.0.2.1:4000"), To: []string{"a@acme.test"}, ReceivedAt: time.Unix(0, 0).UTC()}
	h := receivedHeader("mx.acme.test", env, nil, false)
	want := "Received: from evilX-Injected:yesx ([192.0.2.1])\r\n\tby mx.acme.test (Yubin) with ESMTP id AAAAAAAAAAAAAAAAAA\r\n\tfor <a@acme.test>;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n"
	if h != want {
		t.Errorf("got  %q\nwant %q", h, want)
	}
}
