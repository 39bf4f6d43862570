package storage

import (
	"errors"
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
	g := NewLoginGuard(nil, LoginOptions{MaxFailuresPerAddress: 2, Window: time.Hour})
	fail := func(addr, user string) {
		k := ClientKey(netip.MustParseAddr(addr))
		if err := g.begin(k, k+"\x00"+user); err != nil {
			t.Fatalf("begin %s: %v", addr, err)
		}
		g.end(k, k+"\x00"+user, true)
	}
	fail("2001:db8::1", "a@example.com")
	fail("2001:db8::2", "b@example.com")
	k := ClientKey(netip.MustParseAddr("2001:db8::3"))
	if err := g.begin(k, k+"\x00c@example.com"); !errors.Is(err, ErrThrottled) {
		t.Errorf("a third address of the same /64 after two failures from it: %v", err)
	}
	k = ClientKey(netip.MustParseAddr("2001:db8:0:1::1"))
	if err := g.begin(k, k+"\x00c@example.com"); err != nil {
		t.Errorf("another /64: %v", err)
	}
}
