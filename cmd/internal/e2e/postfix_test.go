package e2e

import (
	"errors"
	"testing"
	"time"

	"yubin/cmd/internal/testpeers"
)

// postfix is a private Postfix instance playing a remote MX (see
// testpeers.Postfix) for one test.
type postfix struct {
	t *testing.T
	*testpeers.Postfix
}

// startPostfix starts a private Postfix for remote.test delivering
// bob@remote.test and alice@remote.test into Maildirs. It is stopped at
// cleanup; its log is shown when the test fails. mainCF are extra
// main.cf lines. Skipped when Postfix is
// not installed (required in CI) or the test does not run as root.
func startPostfix(t *testing.T, mainCF ...string) *postfix {
	t.Helper()
	needTool(t, "postfix")
	p, err := testpeers.StartPostfix(testpeers.PostfixOptions{Domain: "remote.test", Mailboxes: []string{"bob", "alice"}, MainCF: mainCF})
	checkPeerStart(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postfix maillog:\n%s", p.Log())
		}
		if err := p.Stop(); err != nil {
			t.Log(err)
		}
	})
	return &postfix{t: t, Postfix: p}
}

// checkPeerStart ends the test when a peer did not start: skipped when it
// cannot run here (testpeers.ErrUnavailable), failed on any other error.
func checkPeerStart(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, testpeers.ErrUnavailable) {
		skipOrFail(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// WaitMaildir waits until local's Maildir holds at least n messages and
// returns them. Postfix reports delivery only in its log, so this polls.
func (p *postfix) WaitMaildir(local string, n int) []string {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if got := p.Maildir(local); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s@%s has %d messages after 60s, want %d\n%s", local, p.Domain, len(p.Maildir(local)), n, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testpeers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// remoteZone is the DNS for a Postfix remote MX: remote.test's MX is
// mx.remote.test at 127.0.0.1.
func remoteZone(domain string) []string {
	return []string{
		domain + ". 300 IN MX 10 mx." + domain + ".",
		"mx." + domain + ". 300 IN A 127.0.0.1",
	}
}
