package storage

import (
	"net/netip"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		if got := ClientKey(netip.MustParseAddr(c.in)); got != c.want {
			t.Errorf("ClientKey(%s) = %q, want %q", c.in, got, c.want)
		}
	}
	if ClientKey(netip.Addr{}) == ClientKey(netip.MustParseAddr("192.0.2.7")) {
		t.Error("the zero address shares a key with a real one")
	}
}

// Two addresses of one /64 share the throttle's failure count.
func TestLoginGuardGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	g := &LoginGuard{opts: LoginOptions{MaxFailures: 2, Window: time.Hour, Now: time.Now}, byIP: map[string][]time.Time{}, byUser: map[string][]time.Time{}}
	g.failed(netip.MustParseAddr("2001:db8::1"), "a@example.com")
	g.failed(netip.MustParseAddr("2001:db8::2"), "b@example.com")
	if !g.blocked(netip.MustParseAddr("2001:db8::3"), "c@example.com") {
		t.Error("a third address of the same /64 is not throttled after two failures from it")
	}
	if g.blocked(netip.MustParseAddr("2001:db8:0:1::1"), "c@example.com") {
		t.Error("another /64 is throttled")
	}
}
