package config

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"
)

// startDNS serves A 127.0.0.1 for every name over TCP (pebble's VA
// resolver uses TCP) and returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: l, Net: "tcp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return l.Addr().String()
}

// startPebble runs pebble's CA, VA and WFE in process. Its VA validates
// HTTP-01 on 127.0.0.1:httpPort and TLS-ALPN-01 on 127.0.0.1:tlsPort. It
// issues certificates valid for validity seconds (0: pebble's 90 days). It
// returns the directory URL and an HTTP client trusting the WFE.
func startPebble(t *testing.T, httpPort, tlsPort int, validity uint64) (string, *http.Client) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	logger := log.New(io.Discard, "pebble ", 0)
	if testing.Verbose() {
		logger = log.New(testWriter{t}, "pebble ", 0)
	}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default", ValidityPeriod: validity}})
	validator := va.New(logger, httpPort, tlsPort, false, startDNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + wfe.DirectoryPath, srv.Client()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// serve runs h on a new loopback listener (over TLS with cfg when cfg is
// set) and returns its port.
func serve(t *testing.T, h http.Handler, cfg *tls.Config) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return port
}

// TestACMEPebble issues certificates from an in-process pebble through
// each challenge type, with the names and the fallback maild uses.
func TestACMEPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("pebble")
	}
	const hostname = "mail.yubin.test"
	for _, challenge := range []string{"http-01", "tls-alpn-01"} {
		t.Run(challenge, func(t *testing.T) {
			doms := &fakeDomains{names: map[string]bool{"example.org": true}}
			cs := newTestACME(t, hostname, doms) // nothing cached
			var challenges atomic.Int32
			web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "web") })
			h := cs.HTTPHandler(web)
			counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
					challenges.Add(1)
				}
				h.ServeHTTP(w, r)
			})
			var alpn atomic.Int32
			httpsCfg := cs.HTTPSConfig()
			get := httpsCfg.GetCertificate
			httpsCfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
					alpn.Add(1)
				}
				return get(hello)
			}
			httpPort, tlsPort := closedPort(t), closedPort(t)
			if challenge == "http-01" {
				httpPort = serve(t, counting, nil)
			} else {
				tlsPort = serve(t, web, httpsCfg)
			}
			// TLS-ALPN-01 also checks renewal: 10-second certificates,
			// which autocert renews after about 6 seconds (2/3 of the
			// lifetime).
			var validity uint64
			if challenge == "tls-alpn-01" {
				validity = 10
			}
			dir, client := startPebble(t, httpPort, tlsPort, validity)
			cs.acme.m.Client = &acme.Client{DirectoryURL: dir, HTTPClient: client}

			// A client without SNI: the hostname's certificate is issued
			// and served.
			names, err := acmeHandshake(t, cs.TLSConfig(), "")
			if err != nil {
				t.Fatalf("handshake without SNI: %v", err)
			}
			if !slices.Contains(names, hostname) {
				t.Fatalf("certificate for %v, want %s", names, hostname)
			}
			leaf := cs.Leaf()
			if leaf == nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
				t.Fatalf("leaf %v not issued by pebble", leaf)
			}
			// A client-setup name of a local domain gets its own.
			if names, err := acmeHandshake(t, cs.TLSConfig(), "autoconfig.example.org"); err != nil || !slices.Contains(names, "autoconfig.example.org") {
				t.Fatalf("autoconfig: %v %v", names, err)
			}
			switch {
			case challenge == "http-01" && challenges.Load() == 0:
				t.Error("no HTTP-01 request reached the port-80 handler")
			case challenge == "tls-alpn-01" && alpn.Load() == 0:
				t.Error("no acme-tls/1 handshake reached the HTTPS listener")
			}
			if _, err := cs.acme.m.Cache.Get(context.Background(), hostname); err != nil {
				t.Errorf("certificate not in data_dir/tls/acme: %v", err)
			}
			if validity == 0 {
				return
			}
			// Renewal: the same tls.Config serves the new certificate
			// without any reload.
			cfg := cs.TLSConfig()
			deadline := time.Now().Add(40 * time.Second)
			for {
				if _, err := acmeHandshake(t, cfg, ""); err != nil {
					t.Fatalf("handshake while renewing: %v", err)
				}
				if l := cs.Leaf(); l.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
					if !l.NotAfter.After(leaf.NotAfter) || l.VerifyHostname(hostname) != nil {
						t.Fatalf("renewed certificate %v (not after %v), first not after %v", l.DNSNames, l.NotAfter, leaf.NotAfter)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("certificate not renewed; still serial %v, not after %v", leaf.SerialNumber, leaf.NotAfter)
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}
}
