package main

import (
	"log/slog"
	"net/netip"
	"testing"

	"yubin/storage"
)

// The IMAP limiter counts an IPv6 /64 as one client and caps the total.
func TestConnLimiterGroupsIPv6AndCapsTotal(t *testing.T) {
	t.Parallel()
	l := newConnLimiter(3, 2, func(r string) string { return r }, slog.New(slog.DiscardHandler))
	key := func(s string) string { return storage.ClientKey(netip.MustParseAddr(s)) }
	for _, a := range []string{"2001:db8::1", "2001:db8::ffff:2"} {
		if r := l.acquire(key(a)); r != "" {
			t.Fatalf("%s: %s", a, r)
		}
	}
	if r := l.acquire(key("2001:db8::3")); r != "Too many connections from your address" {
		t.Fatalf("third address of the /64: %q", r)
	}
	if r := l.acquire(key("192.0.2.1")); r != "" {
		t.Fatalf("IPv4 client: %q", r)
	}
	if r := l.acquire(key("192.0.2.2")); r != "Too many connections" {
		t.Fatalf("over the total: %q", r)
	}
	l.release(key("2001:db8::1"))
	if r := l.acquire(key("192.0.2.2")); r != "" {
		t.Fatalf("after a release: %q", r)
	}
}
