package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestLoginNeedsTLS runs maild with plaintext logins off (the production
// default): IMAP and POP3 refuse passwords on the plain ports until
// STARTTLS/STLS, then accept them.
func TestLoginNeedsTLS(t *testing.T) {
	t.Parallel()
	s := startServer(t, "", "auth.plaintext_on_loopback = false")
	s.addUser("zoe@acme.test")

	c, err := imapclient.DialInsecure(s.addrs["imap"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Caps().Has("LOGINDISABLED") {
		t.Errorf("plain IMAP port does not announce LOGINDISABLED: %v", c.Caps())
	}
	if err := c.Login("zoe@acme.test", "secret-pw").Wait(); err == nil || !strings.Contains(err.Error(), "PRIVACYREQUIRED") && !strings.Contains(err.Error(), "TLS") {
		t.Errorf("IMAP LOGIN without TLS: %v, want a refusal", err)
	}
	st, err := imapclient.DialStartTLS(s.addrs["imap"], &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Login("zoe@acme.test", "secret-pw").Wait(); err != nil {
		t.Errorf("IMAP LOGIN after STARTTLS: %v", err)
	}

	conn, err := net.DialTimeout("tcp", s.addrs["pop3"], 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	fmt.Fprintf(conn, "USER zoe@acme.test\r\n")
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("POP3 USER without TLS got %q, want -ERR", l)
	}
	fmt.Fprintf(conn, "AUTH PLAIN AHpvZUBhY21lLnRlc3QAc2VjcmV0LXB3\r\n")
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("POP3 AUTH without TLS got %q, want -ERR", l)
	}
}
