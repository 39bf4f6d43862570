package e2e

import (
	"net"
	"testing"

	"yubin/cmd/internal/testdns"
)

// testDNS is the shared test DNS server with test-friendly helpers.
type testDNS struct {
	*testdns.Server
}

// startDNS serves zones (one record per entry, zone-file syntax) until the
// test ends; see testdns.Start.
func startDNS(t *testing.T, zones ...string) *testDNS {
	t.Helper()
	s, err := testdns.Start(zones...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &testDNS{s}
}

// Add adds one record in zone-file syntax.
func (d *testDNS) Add(t *testing.T, record string) {
	t.Helper()
	if err := d.Server.Add(record); err != nil {
		t.Fatalf("test DNS record %q: %v", record, err)
	}
}

// listenDNS opens UDP and TCP on one loopback port (see testdns.Listen).
func listenDNS(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	pc, l, err := testdns.Listen()
	if err != nil {
		t.Fatal(err)
	}
	return pc, l
}
