package delivery

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// fakeDNS is a map-backed Resolver. Names are matched without the
// trailing dot; a name in fail returns that error for every lookup.
type fakeDNS struct {
	mx   map[string][]*net.MX
	ip   map[string][]net.IPAddr
	fail map[string]error
}

func (f *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	name = strings.TrimSuffix(name, ".")
	if err := f.fail[name]; err != nil {
		return nil, err
	}
	if mx, ok := f.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	host = strings.TrimSuffix(host, ".")
	if err := f.fail[host]; err != nil {
		return nil, err
	}
	if ips, ok := f.ip[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func ips(s ...string) []net.IPAddr {
	var out []net.IPAddr
	for _, x := range s {
		out = append(out, net.IPAddr{IP: net.ParseIP(x)})
	}
	return out
}

// oneMX is a fakeDNS where each domain has one MX host at 127.0.0.1.
func oneMX(domains ...string) *fakeDNS {
	f := &fakeDNS{mx: map[string][]*net.MX{}, ip: map[string][]net.IPAddr{}}
	for _, d := range domains {
		f.mx[d] = []*net.MX{{Host: "mx." + d + ".", Pref: 10}}
		f.ip["mx."+d] = ips("127.0.0.1")
	}
	return f
}

// sinkMsg is one message a sink accepted.
type sinkMsg struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Auth string
}

// sink is a go-smtp server playing a remote MX or smarthost.
type sink struct {
	t     *testing.T
	srv   *smtp.Server
	port  int
	addr  string
	conns atomic.Int32
	// rcpt, if set, decides each RCPT (n counts RCPTs so far, from 1).
	rcpt func(to string, n int) error
	// auth, if set, enables AUTH PLAIN with these credentials.
	auth [2]string

	mu    sync.Mutex
	msgs  []sinkMsg
	nrcpt int
}

type sinkOptions struct {
	tls       *tls.Config
	implicit  bool // TLS from the first byte
	rcpt      func(to string, n int) error
	auth      [2]string
	maxMsgLen int64
}

func startSink(t testing.TB, o sinkOptions) *sink {
	tt, _ := t.(*testing.T)
	s := &sink{t: tt, rcpt: o.rcpt, auth: o.auth}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{s: s, c: c}, nil
	}))
	s.srv.Domain = "mx.sink.test"
	s.srv.TLSConfig = o.tls
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = o.maxMsgLen
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = discardLogger{}
	var l net.Listener
	var err error
	if o.implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", o.tls)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.port = l.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(countingListener{l, &s.conns})
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func (s *sink) messages() []sinkMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMsg(nil), s.msgs...)
}

type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

type sinkSession struct {
	s    *sink
	c    *smtp.Conn
	from string
	to   []string
	user string
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.s.auth[0] == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.auth[0] || password != ss.s.auth[1] {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.auth[0] != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.nrcpt++
	n := ss.s.nrcpt
	ss.s.mu.Unlock()
	if ss.s.rcpt != nil {
		if err := ss.s.rcpt(to, n); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	m := sinkMsg{From: ss.from, To: ss.to, Data: b, TLS: isTLS, Auth: ss.user}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	return nil
}

// reply builds an SMTP error reply for a sink hook.
func reply(code int, enhanced smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// testCert returns a self-signed certificate for names (DNS names or IP
// addresses) and a pool that trusts it.
func testCert(t testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// logRecorder is a slog handler that keeps records so tests can wait for
// events (no sleeps).
type logRecorder struct {
	mu   sync.Mutex
	cond *sync.Cond
	recs []logRec
	tee  slog.Handler
}

type logRec struct {
	msg   string
	attrs map[string]string
}

func newLogRecorder(t testing.TB) (*logRecorder, *slog.Logger) {
	r := &logRecorder{}
	r.cond = sync.NewCond(&r.mu)
	if testing.Verbose() {
		r.tee = slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return r, slog.New(&recHandler{r: r})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type recHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h *recHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recHandler) Handle(ctx context.Context, rec slog.Record) error {
	m := logRec{msg: rec.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		m.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { m.attrs[a.Key] = a.Value.String(); return true })
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, m)
	h.r.cond.Broadcast()
	h.r.mu.Unlock()
	if h.r.tee != nil {
		h.r.tee.WithAttrs(h.attrs).Handle(ctx, rec)
	}
	return nil
}
func (h *recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *recHandler) WithGroup(string) slog.Handler { return h }

// count returns how many records match msg and every key=value in kv.
func (r *logRecorder) count(msg string, kv ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.countLocked(msg, kv...)
}

func (r *logRecorder) countLocked(msg string, kv ...string) int {
	n := 0
outer:
	for _, rec := range r.recs {
		if rec.msg != msg {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if rec.attrs[kv[i]] != kv[i+1] {
				continue outer
			}
		}
		n++
	}
	return n
}

// waitCount waits until n records match.
func (r *logRecorder) waitCount(t *testing.T, n int, msg string, kv ...string) {
	t.Helper()
	done := make(chan struct{})
	timer := time.AfterFunc(30*time.Second, func() {
		close(done)
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.countLocked(msg, kv...) < n {
		select {
		case <-done:
			t.Fatalf("timed out waiting for %d %q events %v (have %d)", n, msg, kv, r.countLocked(msg, kv...))
		default:
		}
		r.cond.Wait()
	}
}

// find returns the first record matching.
func (r *logRecorder) find(msg string, kv ...string) (logRec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.msg != msg {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			ok = ok && rec.attrs[kv[i]] == kv[i+1]
		}
		if ok {
			return rec, true
		}
	}
	return logRec{}, false
}

func mustRead(t *testing.T, r io.Reader) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
