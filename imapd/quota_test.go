package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestQuota: GETQUOTAROOT and GETQUOTA report the user's quota from the
// directory (read every time) and the account's usage in KiB; a user
// without a quota has no quota root; SETQUOTA is refused.
func TestQuota(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	if _, st := c.cmd("C", "CAPABILITY"); !strings.HasPrefix(st, "OK") {
		t.Fatal(st)
	}
	if u := c.must("GETQUOTAROOT INBOX", "OK"); !slices.Equal(u, []string{"* QUOTAROOT INBOX"}) {
		t.Errorf("GETQUOTAROOT without a quota: %q", u)
	}
	c.must(`GETQUOTA ""`, "NO [NONEXISTENT]")
	if err := ts.st.SetQuota(context.Background(), testUser, 10<<20); err != nil {
		t.Fatal(err)
	}
	c.must("APPEND INBOX {1500+}\r\n"+strings.Repeat("x", 1500), "OK")
	if u := c.must("GETQUOTAROOT Sent", "OK"); !slices.Equal(u, []string{`* QUOTAROOT Sent ""`, `* QUOTA "" (STORAGE 2 10240)`}) {
		t.Errorf("GETQUOTAROOT: %q", u)
	}
	if u := c.must(`GETQUOTA ""`, "OK"); !slices.Equal(u, []string{`* QUOTA "" (STORAGE 2 10240)`}) {
		t.Errorf("GETQUOTA: %q", u)
	}
	c.must(`GETQUOTA "other"`, "NO [NONEXISTENT]")
	c.must("GETQUOTAROOT nosuch", "NO [NONEXISTENT]")
	c.must(`SETQUOTA "" (STORAGE 1)`, "NO [NOPERM]")
}

// TestCapabilitiesAfterLogin: the capabilities of this branch are
// advertised once logged in, not before.
func TestCapabilitiesAfterLogin(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.dialWire(t)
	u, _ := c.cmd("A", "CAPABILITY")
	if len(u) != 1 || strings.Contains(u[0], "QUOTA") {
		t.Errorf("before login: %q", u)
	}
	c.must("LOGIN "+testUser+" "+testPassword, "OK")
	u, _ = c.cmd("B", "CAPABILITY")
	for _, want := range []string{" QUOTA ", " QUOTA=RES-STORAGE", " MULTIAPPEND ", " NAMESPACE ", " LIST-EXTENDED ", " LIST-STATUS ", " APPENDLIMIT=", " ID ", " CREATE-SPECIAL-USE "} {
		if len(u) != 1 || !strings.Contains(u[0]+" ", want) {
			t.Errorf("after login: %q lacks %q", u, want)
		}
	}
}
