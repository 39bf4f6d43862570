package imapd

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

// busyAuth refuses every login as the shared guard does when no
// password-hash slot freed up in time.
type busyAuth struct{}

func (busyAuth) Login(context.Context, netip.Addr, string, string) (storage.User, error) {
	return storage.User{}, storage.ErrBusy
}

// TestLoginBusy: a login refused for lack of a hash slot is a temporary
// NO [UNAVAILABLE], not a failed login.
func TestLoginBusy(t *testing.T) {
	t.Parallel()
	st, _, err := openTestStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Options{Auth: busyAuth{}, Accounts: st, PlaintextOnLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	c.Write([]byte("a1 LOGIN " + testUser + " " + testPassword + "\r\n"))
	line, _ := r.ReadString('\n')
	if !strings.HasPrefix(line, "a1 NO [UNAVAILABLE]") {
		t.Errorf("LOGIN while busy: %q", line)
	}
}
