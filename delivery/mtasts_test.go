package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stsDNS is a fakeDNS with TXT records.
type stsDNS struct {
	*fakeDNS
	txt map[string][]string
}

func (f *stsDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	name = strings.TrimSuffix(name, ".")
	if txt, ok := f.txt[name]; ok {
		return txt, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// stsServer is an HTTPS server answering for mta-sts.<domain> with a
// policy, and the client and roots that reach and trust it.
type stsServer struct {
	policy  atomic.Pointer[string]
	fetches atomic.Int32
	client  *http.Client
}

func startSTSServer(t *testing.T, cert tls.Certificate, roots *x509.CertPool, policy string) *stsServer {
	t.Helper()
	s := &stsServer{}
	s.policy.Store(&policy)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(*s.policy.Load()))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if !strings.HasPrefix(a, "mta-sts.") || !strings.HasSuffix(a, ":443") {
				return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError("unexpected address " + a)}
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	return s
}

// stsSetup is a sink playing mx.remote.test and a policy server for
// remote.test, with a certificate valid for both names; sinkTLS is
// whether the sink offers STARTTLS: "none", "valid" (the trusted
// certificate) or "untrusted" (right name, unknown issuer).
type stsSetup struct {
	sink  *sink
	sts   *stsServer
	dns   *stsDNS
	roots *x509.CertPool
}

func newSTSSetup(t *testing.T, sinkTLS, policy string, txt ...string) *stsSetup {
	t.Helper()
	cert, roots := testCert(t, "mx.remote.test", "mta-sts.remote.test")
	so := sinkOptions{}
	switch sinkTLS {
	case "valid":
		so.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
	case "untrusted":
		bad, _ := testCert(t, "mx.remote.test")
		so.tls = &tls.Config{Certificates: []tls.Certificate{bad}}
	}
	st := &stsSetup{sink: startSink(t, so), sts: startSTSServer(t, cert, roots, policy), roots: roots}
	st.dns = &stsDNS{fakeDNS: oneMX("remote.test"), txt: map[string][]string{}}
	if len(txt) > 0 {
		st.dns.txt["_mta-sts.remote.test"] = txt
	}
	return st
}

func (st *stsSetup) remote(t *testing.T) (*Remote, *logRecorder) {
	logs, log := newLogRecorder(t)
	r := NewRemote(RemoteOptions{Hostname: "mail.acme.test", Resolver: st.dns, Port: st.sink.port, Logger: log,
		CommandTimeout: 10 * time.Second, MTASTS: &MTASTS{HTTPClient: st.sts.client, RootCAs: st.roots}})
	t.Cleanup(func() { r.Close() })
	return r, logs
}

func (st *stsSetup) env(t *testing.T) *remoteEnv {
	return newRemoteEnv(t, st.dns, st.sink.port, func(_ *Options, ro *RemoteOptions) {
		ro.MTASTS = &MTASTS{HTTPClient: st.sts.client, RootCAs: st.roots}
	})
}

const (
	enforceOtherMX = "version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.test\r\nmax_age: 86400\r\n"
	enforceOurMX   = "version: STSv1\r\nmode: enforce\r\nmx: *.remote.test\r\nmax_age: 86400\r\n"
	testingOtherMX = "version: STSv1\nmode: testing\nmx: mx.elsewhere.test\nmax_age: 86400\n"
)

// deferred475 checks that every recipient failed temporarily with 4.7.5.
func deferred475(t *testing.T, out map[string]error, want string) {
	t.Helper()
	for rc, err := range out {
		e := AsError(err)
		if e == nil || !e.Temporary || e.Enhanced != [3]int{4, 7, 5} || !strings.Contains(e.Public, want) {
			t.Errorf("%s: %#v, want a temporary 4.7.5 failure mentioning %q", rc, e, want)
		}
	}
}

func TestMTASTSEnforceMismatchedMXDefers(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "valid", enforceOtherMX, "v=STSv1; id=20240101T000000")
	r, _ := st.remote(t)
	out := r.Deliver(context.Background(), &Spooled{ID: "AAAAAAAAAAAA"}, "remote.test", []string{"bob@remote.test"})
	deferred475(t, out, "does not list MX host mx.remote.test")
	if n := st.sink.conns.Load(); n != 0 {
		t.Errorf("%d connections to an MX the policy does not list", n)
	}
	// Through the queue: deferred (retried), never delivered.
	e := st.env(t)
	e.send(t, "alice@acme.test", "bob@remote.test")
	e.logs.waitCount(t, 2, "deferred")
	if len(st.sink.messages()) != 0 || st.sink.conns.Load() != 0 {
		t.Errorf("delivered to an MX the policy does not list")
	}
}

func TestMTASTSEnforceWithoutSTARTTLSDefers(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "none", enforceOurMX, "v=STSv1; id=1")
	r, _ := st.remote(t)
	out := r.Deliver(context.Background(), &Spooled{ID: "AAAAAAAAAAAA"}, "remote.test", []string{"bob@remote.test"})
	deferred475(t, out, "does not offer STARTTLS")
	if len(st.sink.messages()) != 0 {
		t.Errorf("delivered in plaintext under an enforce policy")
	}
}

func TestMTASTSEnforceWithUntrustedCertificateDefers(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "untrusted", enforceOurMX, "v=STSv1; id=1")
	r, _ := st.remote(t)
	out := r.Deliver(context.Background(), &Spooled{ID: "AAAAAAAAAAAA"}, "remote.test", []string{"bob@remote.test"})
	deferred475(t, out, "valid certificate for mx.remote.test")
	if n := st.sink.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 (no plaintext retry)", n)
	}
}

func TestMTASTSEnforceWithValidTLSDelivers(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "valid", enforceOurMX, "v=STSv1; id=1")
	e := st.env(t)
	e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	if m := st.sink.messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("sink got %+v, want one message over TLS", m)
	}
	if rec, _ := e.logs.find("delivered", "rcpt", "bob@remote.test"); rec.attrs["tls"] != "yes" {
		t.Errorf("delivered event = %+v", rec)
	}
}

func TestMTASTSTestingMismatchedMXDeliversAndLogs(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "none", testingOtherMX, "v=STSv1; id=7")
	e := st.env(t)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	if m := st.sink.messages(); len(m) != 1 {
		t.Fatalf("sink got %+v, want one message", m)
	}
	var reasons []string
	e.logs.mu.Lock()
	for _, rec := range e.logs.recs {
		if r, ok := strings.CutPrefix(rec.msg, "mta-sts testing: would fail: "); ok && rec.attrs["queue_id"] == string(id) && rec.attrs["domain"] == "remote.test" {
			reasons = append(reasons, r)
		}
	}
	e.logs.mu.Unlock()
	if len(reasons) != 1 || !strings.Contains(reasons[0], "MX host mx.remote.test not in policy") {
		t.Errorf("would-fail logs = %q", reasons)
	}
}

func TestMTASTSTestingInvalidTLSLogs(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "none", "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 600\n", "v=STSv1; id=7")
	e := st.env(t)
	e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	if m := st.sink.messages(); len(m) != 1 {
		t.Fatalf("sink got %+v, want one message", m)
	}
	if _, ok := e.logs.find("mta-sts testing: would fail: no valid TLS to mx.remote.test[127.0.0.1]:" + strconv.Itoa(st.sink.port) + ": no STARTTLS"); !ok {
		t.Errorf("no would-fail log for plaintext delivery")
	}
}

func TestMTASTSNoRecordDeliversAsToday(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "none", enforceOtherMX) // a policy is served but not announced
	e := st.env(t)
	e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	if m := st.sink.messages(); len(m) != 1 || m[0].TLS {
		t.Fatalf("sink got %+v, want one plaintext message", m)
	}
	if n := st.sts.fetches.Load(); n != 0 {
		t.Errorf("%d policy fetches without a TXT record", n)
	}
}

func TestMTASTSCacheReuse(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "valid", enforceOurMX, "v=STSv1; id=1")
	e := st.env(t)
	for range 2 {
		e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	}
	if m := st.sink.messages(); len(m) != 2 {
		t.Fatalf("sink got %d messages, want 2", len(m))
	}
	if n := st.sts.fetches.Load(); n != 1 {
		t.Errorf("%d policy fetches for two messages, want 1", n)
	}
}

func TestMTASTSCacheRefreshAndFallback(t *testing.T) {
	t.Parallel()
	st := newSTSSetup(t, "valid", enforceOurMX, "v=STSv1; id=1")
	now := time.Now()
	s := &MTASTS{HTTPClient: st.sts.client, RootCAs: st.roots, now: func() time.Time { return now }}
	_, log := newLogRecorder(t)
	ctx := context.Background()
	get := func() *stsPolicy { return s.policy(ctx, st.dns, "remote.test", log) }
	if p := get(); p == nil || p.mode != stsEnforce {
		t.Fatalf("policy = %+v", p)
	}
	// A new id: refetched.
	st.sts.policy.Store(ptr(testingOtherMX))
	st.dns.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=2"}
	if p := get(); p == nil || p.mode != stsTesting || st.sts.fetches.Load() != 2 {
		t.Fatalf("after id change: policy %+v, %d fetches", p, st.sts.fetches.Load())
	}
	// TXT gone and the server broken: the cached policy still applies.
	st.sts.policy.Store(ptr("garbage"))
	delete(st.dns.txt, "_mta-sts.remote.test")
	if p := get(); p == nil || p.mode != stsTesting {
		t.Fatalf("without TXT: policy %+v, want the cached one", p)
	}
	st.dns.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=3"}
	if p := get(); p == nil || p.mode != stsTesting {
		t.Fatalf("failed fetch: policy %+v, want the cached one", p)
	}
	// After max_age, with the fetch still failing: no policy.
	now = now.Add(86401 * time.Second)
	if p := get(); p != nil {
		t.Fatalf("expired: policy %+v, want none", p)
	}
}

func TestParseSTSPolicy(t *testing.T) {
	p, err := parseSTSPolicy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmax_age: 9999999999\r\nfoo: bar\r\n")
	if err != nil || p.mode != stsEnforce || p.maxAge != stsMaxAge || len(p.mx) != 2 {
		t.Fatalf("policy %+v, %v", p, err)
	}
	for host, want := range map[string]bool{
		"mail.example.com.": true, "MAIL.example.com": true, "a.example.net": true,
		"example.net": false, "a.b.example.net": false, "other.example.com": false,
	} {
		if p.matches(host) != want {
			t.Errorf("matches(%q) = %v", host, !want)
		}
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
	} {
		if _, err := parseSTSPolicy(bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	for rec, want := range map[string]string{"v=STSv1; id=abc123;": "abc123", "v=STSv1;id=X": "X", "v=spf1 -all": "", "v=STSv1; id=a-b": ""} {
		if id, _ := parseSTSRecord(rec); id != want {
			t.Errorf("parseSTSRecord(%q) = %q, want %q", rec, id, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
