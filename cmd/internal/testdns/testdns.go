// Package testdns is an authoritative DNS server for test zones on
// 127.0.0.1, shared by the end-to-end tests and `make bench`: maild's
// dns.resolver points at it.
package testdns

import (
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server answers for its records on one loopback port, UDP and TCP
// (truncated answers retry over TCP). A name with no records answers
// NXDOMAIN; a known name without the type asked answers NODATA.
type Server struct {
	// Addr is "127.0.0.1:PORT".
	Addr string

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	servers []*dns.Server
}

// Start serves records, each one record in zone-file syntax, e.g.
// "remote.test. MX 10 mx.remote.test." (TTL and class may be left out).
func Start(records ...string) (*Server, error) {
	s := &Server{records: map[string][]dns.RR{}}
	for _, r := range records {
		if err := s.Add(r); err != nil {
			return nil, err
		}
	}
	pc, l, err := Listen()
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	s.servers = []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: l, Handler: s}}
	for _, srv := range s.servers {
		go srv.ActivateAndServe()
	}
	return s, nil
}

// Add adds one record in zone-file syntax.
func (s *Server) Add(record string) error {
	rr, err := dns.NewRR(record)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := strings.ToLower(rr.Header().Name)
	s.records[name] = append(s.records[name], rr)
	return nil
}

// Close stops the server.
func (s *Server) Close() {
	for _, srv := range s.servers {
		srv.Shutdown()
	}
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	s.mu.Lock()
	for _, q := range req.Question {
		rrs, ok := s.records[strings.ToLower(q.Name)]
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
	s.mu.Unlock()
	w.WriteMsg(m)
}

// Listen opens UDP and TCP on the same loopback port. The kernel picks a
// free UDP port whose TCP twin may be taken (by a client's ephemeral
// port, say): then it tries again.
func Listen() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			return nil, nil, err
		}
		var l net.Listener
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, l, nil
		}
		pc.Close()
	}
	return nil, nil, err
}
