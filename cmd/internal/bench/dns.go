package main

import (
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// testDNS answers for the benchmark's zones on 127.0.0.1 (UDP and TCP on
// one port), for maild's dns.resolver: every dNNN.test has an MX
// mx.dNNN.test with an A record 127.0.0.1 (the sink); other names are
// NXDOMAIN, so SPF, DKIM and DMARC lookups of the load's domains fail
// fast.
type testDNS struct {
	addr    string
	mu      sync.Mutex
	records map[string][]dns.RR
	servers []*dns.Server
}

func startDNS(records []string) (*testDNS, error) {
	d := &testDNS{records: map[string][]dns.RR{}}
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			return nil, err
		}
		name := strings.ToLower(rr.Header().Name)
		d.records[name] = append(d.records[name], rr)
	}
	// UDP and TCP on one port: the UDP port the kernel picks may be
	// taken for TCP, so try a few.
	var pc net.PacketConn
	var l net.Listener
	var err error
	for range 20 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, err
	}
	d.addr = pc.LocalAddr().String()
	d.servers = []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: l, Handler: d}}
	for _, s := range d.servers {
		go s.ActivateAndServe()
	}
	return d, nil
}

func (d *testDNS) close() {
	for _, s := range d.servers {
		s.Shutdown()
	}
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
