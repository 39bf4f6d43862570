package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-smtp"

	"yubin/storage"
)

// remoteEnv is a queue with a real MDA (local domain acme.test, user
// alice) and a Remote pointed at test sinks through a fake resolver.
type remoteEnv struct {
	st     *storage.Store
	q      *Queue
	remote *Remote
	logs   *logRecorder
	dir    string

	mu      sync.Mutex
	settled map[ID]bool
	cond    *sync.Cond
}

func newRemoteEnv(t *testing.T, dns Resolver, port int, mod func(*Options, *RemoteOptions)) *remoteEnv {
	t.Helper()
	e := &remoteEnv{st: testStore(t, "alice@acme.test"), dir: t.TempDir(), settled: map[ID]bool{}}
	e.cond = sync.NewCond(&e.mu)
	var log *slog.Logger
	e.logs, log = newLogRecorder(t)
	ro := RemoteOptions{Hostname: "mail.acme.test", Resolver: dns, Port: port, Logger: log, CommandTimeout: 10 * time.Second}
	o := Options{Dir: e.dir, Local: NewMDA(StoreDirectory{e.st}, log), Logger: log, Hostname: "mail.acme.test",
		RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Settled: func(id ID) {
			e.mu.Lock()
			e.settled[id] = true
			e.cond.Broadcast()
			e.mu.Unlock()
		}}
	if mod != nil {
		mod(&o, &ro)
	}
	e.remote = NewRemote(ro)
	o.Remote = e.remote
	q, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	e.q = q
	t.Cleanup(func() { q.Close() })
	return e
}

func (e *remoteEnv) send(t *testing.T, from string, to ...string) ID {
	t.Helper()
	msg := "From: <" + from + ">\r\nTo: <" + strings.Join(to, ">, <") + ">\r\nSubject: remote test\r\nMessage-ID: <t1@acme.test>\r\n\r\nHello.\r\n"
	id, err := e.q.Enqueue(context.Background(), Envelope{From: from, To: to}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitSettled waits until id has left the queue.
func (e *remoteEnv) waitSettled(t *testing.T, id ID) {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { e.mu.Lock(); e.cond.Broadcast(); e.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(30 * time.Second)
	e.mu.Lock()
	defer e.mu.Unlock()
	for !e.settled[id] {
		if time.Now().After(deadline) {
			t.Fatalf("message %s not settled", id)
		}
		e.cond.Wait()
	}
}

// dsns returns the DSNs in alice's INBOX, parsed.
func (e *remoteEnv) dsns(t *testing.T) []parsedDSN {
	t.Helper()
	var out []parsedDSN
	for _, raw := range inbox(t, e.st, "alice@acme.test") {
		out = append(out, parseDSN(t, raw))
	}
	return out
}

// parsedDSN is the part of a DSN tests look at.
type parsedDSN struct {
	raw, human, status, headers string
	reportType                  string
}

func parseDSN(t *testing.T, raw string) parsedDSN {
	t.Helper()
	ent, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parse DSN: %v\n%s", err, raw)
	}
	ct, params, _ := ent.Header.ContentType()
	if ct != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("DSN Content-Type = %s %v", ct, params)
	}
	if !strings.Contains(raw, "Return-Path: <>") {
		t.Errorf("DSN not from the null sender:\n%s", raw)
	}
	d := parsedDSN{raw: raw, reportType: params["report-type"]}
	mr := ent.MultipartReader()
	var types []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		pt, _, _ := p.Header.ContentType()
		types = append(types, pt)
		body := mustRead(t, p.Body)
		switch pt {
		case "text/plain":
			d.human = body
		case "message/delivery-status":
			d.status = body
		case "text/rfc822-headers":
			d.headers = body
		}
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Fatalf("DSN parts = %v", types)
	}
	return d
}

func TestRemoteRetriesAfter451(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{rcpt: func(to string, n int) error {
		if n == 1 {
			return reply(451, smtp.EnhancedCode{4, 3, 0}, "Greylisted, try again")
		}
		return nil
	}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	if msgs := s.messages(); len(msgs) != 1 || msgs[0].To[0] != "bob@remote.test" || msgs[0].From != "alice@acme.test" {
		t.Fatalf("sink got %+v", msgs)
	}
	if e.logs.count("deferred", "queue_id", string(id)) != 1 {
		t.Errorf("want one deferred event")
	}
	rec, _ := e.logs.find("delivered", "queue_id", string(id), "rcpt", "bob@remote.test")
	if !strings.HasPrefix(rec.attrs["remote"], "mx.remote.test[127.0.0.1]") || rec.attrs["tls"] != "no" || rec.attrs["reply"] == "" {
		t.Errorf("delivered event = %+v", rec)
	}
	if len(e.dsns(t)) != 0 {
		t.Errorf("a retried delivery sent a DSN")
	}
}

func TestRemote550SendsDSN(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{rcpt: func(string, int) error {
		return reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user here")
	}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	e.logs.waitCount(t, 1, "delivered", "rcpt", "alice@acme.test")
	// The DSN is itself a queued message: wait until it has settled too
	// ("delivered" is logged before the queue records it).
	rec, ok := e.logs.find("dsn sent", "queue_id", string(id))
	if !ok {
		t.Fatal("no dsn sent event")
	}
	e.waitSettled(t, ID(rec.attrs["dsn_queue_id"]))
	if list, _ := e.q.List(context.Background()); len(list) != 0 {
		t.Errorf("queue not empty: %+v", list)
	}
	d := e.dsns(t)
	if len(d) != 1 {
		t.Fatalf("alice has %d DSNs, want 1", len(d))
	}
	for _, want := range []string{
		"Reporting-MTA: dns; mail.acme.test",
		"Arrival-Date: ",
		"Final-Recipient: rfc822; bob@remote.test",
		"Action: failed",
		"Status: 5.1.1",
		"Remote-MTA: dns; mx.remote.test",
		"Diagnostic-Code: smtp; 550 5.1.1 No such user here",
	} {
		if !strings.Contains(d[0].status, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, d[0].status)
		}
	}
	if !strings.Contains(d[0].headers, "Subject: remote test") || strings.Contains(d[0].headers, "Hello.") {
		t.Errorf("rfc822-headers part = %q", d[0].headers)
	}
	for _, want := range []string{"From: Mail Delivery System <MAILER-DAEMON@mail.acme.test>", "Auto-Submitted: auto-replied", "To: <alice@acme.test>"} {
		if !strings.Contains(d[0].raw, want) {
			t.Errorf("DSN header lacks %q", want)
		}
	}
	if !strings.Contains(d[0].human, "bob@remote.test") {
		t.Errorf("human part = %q", d[0].human)
	}
	if e.logs.count("bounced", "queue_id", string(id), "rcpt", "bob@remote.test") != 1 || e.logs.count("dsn sent", "queue_id", string(id)) != 1 {
		t.Errorf("missing bounced/dsn sent events")
	}
}

func TestRemoteOneOfTwoRecipientsFails(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{rcpt: func(to string, _ int) error {
		if to == "gone@remote.test" {
			return reply(550, smtp.EnhancedCode{5, 1, 1}, "Gone")
		}
		return nil
	}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "gone@remote.test", "bob@remote.test")
	e.waitSettled(t, id)
	e.logs.waitCount(t, 1, "delivered", "rcpt", "alice@acme.test")
	msgs := s.messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "bob@remote.test" {
		t.Fatalf("sink got %+v, want one message to bob", msgs)
	}
	d := e.dsns(t)
	if len(d) != 1 {
		t.Fatalf("%d DSNs, want 1", len(d))
	}
	if n := strings.Count(d[0].status, "Final-Recipient:"); n != 1 || !strings.Contains(d[0].status, "rfc822; gone@remote.test") {
		t.Fatalf("DSN lists %d recipients:\n%s", n, d[0].status)
	}
}

func TestRemoteGroupsRecipientsByDomain(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("a.test", "b.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "x@a.test", "y@a.test", "z@a.test", "w@b.test")
	e.waitSettled(t, id)
	var rcpts []int
	for _, m := range s.messages() {
		rcpts = append(rcpts, len(m.To))
	}
	if len(rcpts) != 2 || rcpts[0]+rcpts[1] != 4 || (rcpts[0] != 3 && rcpts[1] != 3) {
		t.Fatalf("transactions with %v recipients, want one of 3 and one of 1", rcpts)
	}
}

func TestRemoteNullSenderGetsNoDSN(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{rcpt: func(string, int) error { return reply(550, smtp.EnhancedCode{5, 1, 1}, "No") }})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "", "bob@remote.test")
	e.waitSettled(t, id)
	if e.logs.count("dsn sent") != 0 || e.logs.count("no DSN for a message from the null sender", "queue_id", string(id)) != 1 {
		t.Fatal("a bounce was bounced")
	}
	if list, _ := e.q.List(context.Background()); len(list) != 0 {
		t.Fatalf("queue not empty: %+v", list)
	}
}

func TestRemoteDNSOutcomes(t *testing.T) {
	t.Parallel()
	dns := &fakeDNS{
		mx: map[string][]*net.MX{
			"nullmx.test": {{Host: ".", Pref: 0}},
			"nomx.test":   {},
		},
		ip: map[string][]net.IPAddr{"nomx.test": ips("127.0.0.1")},
		fail: map[string]error{
			"servfail.test": &net.DNSError{Err: "server misbehaving", Name: "servfail.test", IsTemporary: true},
			"timeout.test":  &net.DNSError{Err: "i/o timeout", Name: "timeout.test", IsTimeout: true},
		},
	}
	r := NewRemote(RemoteOptions{Resolver: dns})
	defer r.Close()
	for _, tc := range []struct {
		domain    string
		temporary bool
		enhanced  [3]int
	}{
		{"nullmx.test", false, [3]int{5, 1, 10}},
		{"nxdomain.test", false, [3]int{5, 1, 2}},
		{"servfail.test", true, [3]int{4, 4, 3}},
		{"timeout.test", true, [3]int{4, 4, 3}},
	} {
		_, err := mxHosts(context.Background(), dns, tc.domain)
		if err == nil || err.Temporary != tc.temporary || err.Enhanced != tc.enhanced {
			t.Errorf("%s: %v, want temporary=%v %v", tc.domain, err, tc.temporary, tc.enhanced)
		}
		out := r.Deliver(context.Background(), &Spooled{ID: "AAAAAAAAAAAA"}, tc.domain, []string{"u@" + tc.domain})
		if de := AsError(out["u@"+tc.domain]); de == nil || de.Enhanced != tc.enhanced {
			t.Errorf("%s: Deliver = %v", tc.domain, out)
		}
	}
	// No MX: the domain itself is the host (implicit MX).
	hosts, err := mxHosts(context.Background(), dns, "nomx.test")
	if err != nil || len(hosts) != 1 || hosts[0] != "nomx.test." {
		t.Errorf("implicit MX = %v, %v", hosts, err)
	}
}

func TestOrderMX(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		h := orderMX([]*net.MX{{Host: "c.", Pref: 30}, {Host: "a1.", Pref: 10}, {Host: ".", Pref: 5}, {Host: "b.", Pref: 20}, {Host: "a2.", Pref: 10}})
		if len(h) != 4 || !strings.HasPrefix(h[0], "a") || !strings.HasPrefix(h[1], "a") || h[2] != "b." || h[3] != "c." {
			t.Fatalf("order = %v", h)
		}
		seen[h[0]] = true
	}
	if !seen["a1."] || !seen["a2."] {
		t.Errorf("equal preferences not randomised: %v", seen)
	}
}

func TestRemoteFallsBackToNextMX(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	dns := &fakeDNS{
		mx: map[string][]*net.MX{"remote.test": {{Host: "backup.remote.test.", Pref: 20}, {Host: "primary.remote.test.", Pref: 10}}},
		// Nothing listens on 127.0.0.2: connection refused.
		ip: map[string][]net.IPAddr{"primary.remote.test": ips("127.0.0.2"), "backup.remote.test": ips("127.0.0.1")},
	}
	e := newRemoteEnv(t, dns, s.port, nil)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	rec, ok := e.logs.find("delivered", "rcpt", "bob@remote.test")
	if !ok || !strings.HasPrefix(rec.attrs["remote"], "backup.remote.test[") {
		t.Fatalf("delivered via %+v, want the backup MX", rec)
	}
	if _, ok := e.logs.find("host failed", "remote", "primary.remote.test."); !ok {
		t.Errorf("primary MX not tried first")
	}
}

func TestRemoteOpportunisticTLSAcceptsAnyCertificate(t *testing.T) {
	t.Parallel()
	cert, _ := testCert(t, "wrong.example") // self-signed, wrong name
	s := startSink(t, sinkOptions{tls: &tls.Config{Certificates: []tls.Certificate{cert}}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	if m := s.messages(); len(m) != 1 || !m[0].TLS {
		t.Fatalf("sink got %+v, want one message over TLS", m)
	}
	if rec, _ := e.logs.find("delivered", "rcpt", "bob@remote.test"); rec.attrs["tls"] != "yes" {
		t.Errorf("delivered event = %+v", rec)
	}
}

func TestRemoteFailedSTARTTLSRedialsPlaintext(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{tls: &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no certificate today")
	}}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	if m := s.messages(); len(m) != 1 || m[0].TLS {
		t.Fatalf("sink got %+v, want one plaintext message", m)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (TLS attempt, then plaintext)", n)
	}
}

func TestRemoteReusesConnection(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	for i := range 3 {
		id := e.send(t, "alice@acme.test", "bob@remote.test")
		e.waitSettled(t, id)
		if got := len(s.messages()); got != i+1 {
			t.Fatalf("sink has %d messages, want %d", got, i+1)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections for 3 messages, want 1", n)
	}
}

func TestRemoteMaxMessagesPerConnection(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(_ *Options, ro *RemoteOptions) { ro.MaxMessagesPerConnection = 2 })
	for range 4 {
		e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	}
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("%d connections for 4 messages at 2 per connection, want 2", n)
	}
}

func TestRemoteIdleConnectionExpires(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(_ *Options, ro *RemoteOptions) { ro.IdleTimeout = time.Millisecond })
	e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	// The idle connection is closed by its timer; the pool is then empty.
	key := "mx:mx.remote.test:" + strconv.Itoa(s.port)
	deadline := time.Now().Add(10 * time.Second)
	for e.remote.pool.idleCount(key) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle connection never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.waitSettled(t, e.send(t, "alice@acme.test", "bob@remote.test"))
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the first expired)", n)
	}
}

func TestRemoteConnectionLimitPerDomain(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	active, peak := 0, 0
	release := make(chan struct{})
	s := startSink(t, sinkOptions{rcpt: func(string, int) error {
		mu.Lock()
		active++
		peak = max(peak, active)
		mu.Unlock()
		<-release
		mu.Lock()
		active--
		mu.Unlock()
		return nil
	}})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(o *Options, ro *RemoteOptions) {
		o.Workers = 6
		ro.MaxConnectionsPerDomain = 2
	})
	var ids []ID
	for range 6 {
		ids = append(ids, e.send(t, "alice@acme.test", "bob@remote.test"))
	}
	// Let the first deliveries reach RCPT, then release them all.
	time.AfterFunc(200*time.Millisecond, func() { close(release) })
	for _, id := range ids {
		e.waitSettled(t, id)
	}
	if peak > 2 {
		t.Fatalf("%d transactions at once, limit 2", peak)
	}
}

func TestRemoteRateLimitDefers(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(o *Options, ro *RemoteOptions) {
		ro.RateLimits = map[string]int{"Remote.test": 1} // one a minute
		o.RetryMin, o.RetryMax = time.Hour, time.Hour
	})
	first := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, first)
	second := e.send(t, "alice@acme.test", "bob@remote.test")
	e.logs.waitCount(t, 1, "deferred", "queue_id", string(second))
	ent, err := e.q.Show(context.Background(), second)
	if err != nil || !strings.Contains(ent.Recipients[0].LastError, "Rate limit") {
		t.Fatalf("Show = %+v, %v", ent, err)
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBucket(60, now) // one a second, burst 10
	for i := range 10 {
		if w := b.take(now); w != 0 {
			t.Fatalf("token %d waits %v within the burst", i, w)
		}
	}
	if w := b.take(now); w != time.Second {
		t.Fatalf("11th token waits %v, want 1s", w)
	}
	if w := b.take(now.Add(3 * time.Second)); w != 0 {
		t.Fatalf("after 3s: wait %v", w)
	}
}
