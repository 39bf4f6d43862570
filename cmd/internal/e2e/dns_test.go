package e2e

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// testDNS is an authoritative DNS server for test zones on 127.0.0.1
// (UDP and TCP on the same port), for maild's dns.resolver.
type testDNS struct {
	// Addr is "127.0.0.1:PORT".
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
}

// startDNS serves zones: each entry is one record in zone-file syntax,
// e.g. "remote.test. MX 10 mx.remote.test." or "mx.remote.test. A
// 127.0.0.1" (TTL and class may be left out). A name with no records
// answers NXDOMAIN; a known name without the type asked answers NODATA.
// Records can be added later with Add.
func startDNS(t *testing.T, zones ...string) *testDNS {
	t.Helper()
	d := &testDNS{records: map[string][]dns.RR{}}
	for _, z := range zones {
		d.Add(t, z)
	}
	pc, l := listenDNS(t)
	d.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: d}
	tcp := &dns.Server{Listener: l, Handler: d}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return d
}

// Add adds one record in zone-file syntax.
func (d *testDNS) Add(t *testing.T, record string) {
	t.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatalf("test DNS record %q: %v", record, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	name := strings.ToLower(rr.Header().Name)
	d.records[name] = append(d.records[name], rr)
}

// ServeDNS implements dns.Handler.
func (d *testDNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	for _, q := range req.Question {
		rrs, ok := d.records[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	d.mu.Unlock()
	w.WriteMsg(m)
}

// listenDNS opens UDP and TCP on the same loopback port (truncated answers
// retry over TCP). The kernel picks a free UDP port whose TCP twin may be
// taken (by a client's ephemeral port, say): then it tries again.
func listenDNS(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
		if attempt == 20 {
			t.Fatal(err)
		}
	}
}
