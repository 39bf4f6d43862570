package pop3d

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

func FuzzCommand(f *testing.F) {
	for _, s := range []string{"USER a@b", "PASS pass with spaces", "RETR 1", "top 1 10", "LIST", "", " ", "AUTH PLAIN =", "X\x00Y", "UIDL  2", "PASS \x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		if cmd.Name == "" || len(cmd.Name) > maxKeyword || cmd.Name != strings.ToUpper(cmd.Name) {
			t.Fatalf("bad keyword %q from %q", cmd.Name, line)
		}
		if len(cmd.Args) > maxArgs {
			t.Fatalf("%d args", len(cmd.Args))
		}
		for _, a := range cmd.Args {
			if a == "" || strings.ContainsAny(a, " \x00\r\n") {
				t.Fatalf("bad arg %q from %q", a, line)
			}
		}
		if n, ok := parseNumber(cmd.Rest); ok && n < 0 {
			t.Fatalf("negative number from %q", cmd.Rest)
		}
	})
}

// fuzzAuth accepts one user with the password "pw" without hashing, so
// the fuzzer spends its time in the session.
type fuzzAuth struct{}

func (fuzzAuth) Login(ctx context.Context, remote netip.Addr, user, password string) (storage.User, error) {
	a, err := storage.ParseAddress(user)
	if err != nil || a.String() != testUser || password != "pw" {
		return storage.User{}, storage.ErrAuthFailed
	}
	return storage.User{Address: a, Enabled: true}, nil
}

// FuzzSession feeds arbitrary client bytes into a session over a small
// maildrop. It must neither panic nor hang.
func FuzzSession(f *testing.F) {
	login := "USER " + testUser + "\r\nPASS pw\r\n"
	for _, s := range []string{
		login + "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		login + "DELE 1\r\nDELE 2\r\nQUIT\r\n",
		"AUTH PLAIN\r\n" + "AGFsaWNlQGFjbWUudGVzdABwdw==\r\nLIST 3\r\n",
		"AUTH PLAIN\r\n*\r\nCAPA\r\nSTLS\r\n\x16\x03\x01garbage",
		"CAPA\r\nNOOP\r\n\r\n" + strings.Repeat("x", 600) + "\r\n",
		login + "RETR 99999999999\r\nTOP 1 -1\r\nLIST 0\r\n",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	st, err := storage.Open(f.TempDir(), storage.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	st.AddDomain(ctx, "acme.test")
	if _, err := st.AddUser(ctx, testUser, "unused-password", 0); err != nil {
		f.Fatal(err)
	}
	addr, _ := storage.ParseAddress(testUser)
	acct, err := st.Account(ctx, addr)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Options{
		Auth: fuzzAuth{}, Maildrops: st, TLS: testTLSConfig(f), PlaintextOnLoopback: true,
		IdleTimeout: 5 * time.Second, MaxBadCommands: 50,
	})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	msgs := []string{"Subject: 1\r\n\r\nbody\r\n.dot\r\n", "Subject: 2\n\nlf only\n", "no header end"}
	f.Fuzz(func(t *testing.T, in []byte) {
		if ms, _ := acct.Messages(ctx, storage.Inbox); len(ms) < len(msgs) {
			for _, m := range msgs[len(ms):] {
				acct.Deliver(ctx, storage.Inbox, strings.NewReader(m), storage.DeliverOptions{})
			}
		}
		sc, cc := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.newSession(sc, netip.MustParseAddr("127.0.0.1"), srv.log, false).run()
			sc.Close()
		}()
		go io.Copy(io.Discard, cc)
		cc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		cc.Write(in)
		cc.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session did not end after the client closed")
		}
	})
}
