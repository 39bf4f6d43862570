package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// rawIMAP is a bare TLS connection for sending what no client library
// would.
type rawIMAP struct {
	t *testing.T
	c *tls.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawIMAP {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := &rawIMAP{t: t, c: c, r: bufio.NewReader(c)}
	r.line() // greeting
	return r
}

func (r *rawIMAP) line() string {
	r.t.Helper()
	l, err := r.r.ReadString('\n')
	if err != nil {
		return "EOF: " + err.Error()
	}
	return l
}

// until reads lines until one starts with prefix (or the connection ends).
func (r *rawIMAP) until(prefix string) string {
	r.t.Helper()
	for {
		l := r.line()
		if strings.HasPrefix(l, prefix) || strings.HasPrefix(l, "EOF") || strings.HasPrefix(l, "* BYE") {
			return l
		}
	}
}

// TestIMAPAbuse sends hostile input and checks each gets BAD/NO or a
// closed connection, while a well-behaved session keeps working.
func TestIMAPAbuse(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.addUser("xena@acme.test")
	good := dialIMAP(t, s, nil)
	if err := good.Login("xena@acme.test", "secret-pw").Wait(); err != nil {
		t.Fatal(err)
	}

	t.Run("unknown commands", func(t *testing.T) {
		r := dialRaw(t, s.addrs["imaps"])
		var b strings.Builder
		for i := range 10000 {
			fmt.Fprintf(&b, "a%d FROBNICATE x\r\n", i)
		}
		go io.WriteString(r.c, b.String())
		bad := 0
		for bad < 10000 {
			l := r.line()
			if strings.HasPrefix(l, "EOF") || strings.HasPrefix(l, "* BYE") {
				break
			}
			if strings.Contains(l, " BAD ") {
				bad++
			}
		}
		t.Logf("%d BAD replies to 10000 unknown commands", bad)
		if bad == 0 {
			t.Error("no BAD reply to unknown commands")
		}
	})

	t.Run("huge literal", func(t *testing.T) {
		// go-imap refuses the literal when it parses its size, then
		// discards the rest of the command line: the CRLF that follows
		// completes it (a client that sends nothing is dropped after
		// the library's 30 s command timeout). Nothing is buffered.
		r := dialRaw(t, s.addrs["imaps"])
		io.WriteString(r.c, "a1 LOGIN {1073741824}\r\n\r\n")
		if l := r.until("a1 "); !strings.HasPrefix(l, "a1 NO ") && !strings.HasPrefix(l, "a1 BAD ") {
			t.Errorf("1 GB literal announcement got %q", l)
		}
		r2 := dialRaw(t, s.addrs["imaps"])
		fmt.Fprintf(r2.c, "a1 LOGIN xena@acme.test secret-pw\r\na2 APPEND INBOX {1073741824}\r\n\r\n")
		if l := r2.until("a2 "); !strings.HasPrefix(l, "a2 NO [TOOBIG]") {
			t.Errorf("1 GB APPEND got %q", l)
		}
	})

	t.Run("nested parentheses", func(t *testing.T) {
		r := dialRaw(t, s.addrs["imaps"])
		fmt.Fprintf(r.c, "a1 LOGIN xena@acme.test secret-pw\r\na2 SELECT INBOX\r\n")
		r.until("a2 ")
		fmt.Fprintf(r.c, "a3 SEARCH %s\r\n", strings.Repeat("(", 5000)+"ALL"+strings.Repeat(")", 5000))
		if l := r.until("a3 "); !strings.Contains(l, "BAD") && !strings.Contains(l, "NO") && !strings.HasPrefix(l, "EOF") && !strings.HasPrefix(l, "* BYE") {
			t.Errorf("deeply nested SEARCH got %q", l)
		}
	})

	t.Run("1 MB line", func(t *testing.T) {
		r := dialRaw(t, s.addrs["imaps"])
		go fmt.Fprintf(r.c, "a1 NOOP %s\r\n", strings.Repeat("x", 1<<20))
		if l := r.until("a1 "); !strings.Contains(l, "BAD") && !strings.HasPrefix(l, "EOF") && !strings.HasPrefix(l, "* BYE") {
			t.Errorf("1 MB command line got %q", l)
		}
	})

	// The well-behaved session was not disturbed, and the server still
	// takes new ones.
	if err := good.Noop().Wait(); err != nil {
		t.Errorf("NOOP on the good session: %v", err)
	}
	again, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.Login("xena@acme.test", "secret-pw").Wait(); err != nil {
		t.Errorf("login after abuse: %v", err)
	}
}
