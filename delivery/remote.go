package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"yubin/storage"
)

// RemoteOptions configure a Remote. Zero values are the defaults.
type RemoteOptions struct {
	// RewriteSender, when set, maps the envelope sender of each outgoing
	// transaction (SRS for forwarded mail); the spooled envelope and any
	// DSN keep the original sender.
	RewriteSender func(from string) string
	// Hostname is our EHLO name. Required in production; default
	// "localhost".
	Hostname string
	// Resolver looks up MX and address records. Default: the system
	// resolver.
	Resolver Resolver
	// Port is the TCP port of MX hosts (default 25; tests change it).
	Port int
	// MaxConnectionsPerDomain bounds the connections in use at once for
	// one destination domain (default 5). Idle connections kept for
	// reuse are bounded per host by the same number.
	MaxConnectionsPerDomain int
	// MaxMessagesPerConnection is how many messages one connection
	// carries before it is closed (default 100).
	MaxMessagesPerConnection int
	// IdleTimeout is how long an idle connection is kept for the next
	// message to the same host (default 30s).
	IdleTimeout time.Duration
	// RateLimits caps messages per minute per destination domain
	// (lower-case domain → messages per minute). A message that would
	// wait longer than MaxRateWait is deferred instead.
	RateLimits map[string]int
	// MaxRateWait is the longest a delivery waits for its rate-limit
	// token (default 5s).
	MaxRateWait time.Duration
	// DialTimeout bounds a TCP connect (default 30s); CommandTimeout
	// each command's reply (default 5m); DataTimeout the reply after
	// the final dot (default 10m).
	DialTimeout, CommandTimeout, DataTimeout time.Duration
	// Smarthost, when Addr is set, replaces MX delivery.
	Smarthost Smarthost
	// MTASTS, when set, applies recipient domains' MTA-STS policies
	// (RFC 8461) to MX delivery (not to the smarthost): under "enforce"
	// only MX hosts the policy lists are used, over STARTTLS with a
	// certificate valid for the MX name, else the message is deferred
	// (4.7.5); under "testing" delivery is as without a policy and what
	// would fail is logged. Needs a Resolver with LookupTXT. nil: off.
	MTASTS *MTASTS
	// Logger receives "delivered" events (key remote is the host that
	// took the message). Default: discard.
	Logger *slog.Logger
}

// Smarthost is a relay that takes outbound mail instead of the
// recipients' MX hosts, for networks that block port 25 (OP25B).
type Smarthost struct {
	// Addr is "host:port"; "" means no smarthost.
	Addr string
	// TLS is "starttls" (required, certificate verified; the default),
	// "tls" (implicit TLS, verified) or "none".
	TLS string
	// Username and PasswordFile enable AUTH PLAIN. The file is read at
	// every connection; a trailing newline is ignored.
	Username, PasswordFile string
	// Domains limits the smarthost to these recipient domains; empty
	// means every domain.
	Domains []string
	// TLSConfig verifies the smarthost's certificate (RootCAs for a
	// private CA). Default: the system roots and Addr's host name.
	TLSConfig *tls.Config
}

// Remote delivers to other domains over SMTP: MX lookup (or a smarthost),
// opportunistic STARTTLS, connection reuse, per-domain concurrency and
// rate limits, and a classified outcome per recipient. It implements
// RemoteDeliverer. Safe for concurrent use; Close ends its idle
// connections.
type Remote struct {
	opts RemoteOptions
	log  *slog.Logger
	pool *pool
}

// maxRcptsPerTransaction splits large recipient lists, as RFC 5321
// §4.5.3.1.8 only promises 100 per transaction.
const maxRcptsPerTransaction = 100

// NewRemote returns a Remote. Nothing is dialled or read until the first
// delivery (the smarthost password included), so it cannot fail.
func NewRemote(opts RemoteOptions) *Remote {
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Port <= 0 {
		opts.Port = 25
	}
	if opts.MaxConnectionsPerDomain <= 0 {
		opts.MaxConnectionsPerDomain = 5
	}
	if opts.MaxMessagesPerConnection <= 0 {
		opts.MaxMessagesPerConnection = 100
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Second
	}
	if opts.MaxRateWait <= 0 {
		opts.MaxRateWait = 5 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 30 * time.Second
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 5 * time.Minute
	}
	if opts.DataTimeout <= 0 {
		opts.DataTimeout = 10 * time.Minute
	}
	if opts.Smarthost.TLS == "" {
		opts.Smarthost.TLS = "starttls"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	limits := make(map[string]int, len(opts.RateLimits))
	for d, n := range opts.RateLimits {
		limits[strings.ToLower(d)] = n
	}
	opts.RateLimits = limits
	return &Remote{opts: opts, log: opts.Logger, pool: newPool(opts.MaxConnectionsPerDomain, opts.IdleTimeout)}
}

// Close quits the idle connections. Deliveries still running finish and
// close their connections.
func (r *Remote) Close() error {
	r.pool.close()
	return nil
}

// route is where mail for a domain goes: hosts to try in order.
type route struct {
	hosts []string // names to resolve (MX hosts or the smarthost)
	port  int
	mode  tlsMode
	key   string // pool key prefix
	smart bool
	// sts is the domain's MTA-STS policy in force (enforce or testing),
	// or nil.
	sts    *stsPolicy
	domain string
}

// Deliver implements RemoteDeliverer: one SMTP transaction to domain for
// rcpts (split by 100), trying the domain's hosts in order.
func (r *Remote) Deliver(ctx context.Context, m *Spooled, domain string, rcpts []string) map[string]error {
	out := make(map[string]error, len(rcpts))
	failAll := func(list []string, err error) {
		for _, rc := range list {
			out[rc] = err
		}
	}
	domain = strings.ToLower(domain)
	rt, derr := r.route(ctx, domain)
	if derr != nil {
		failAll(rcpts, derr)
		return out
	}
	release, err := r.pool.acquire(ctx, domain, r.opts.MaxConnectionsPerDomain)
	if err != nil {
		failAll(rcpts, AsError(err))
		return out
	}
	defer release()
	for chunk := range slices.Chunk(rcpts, maxRcptsPerTransaction) {
		if err := r.rateWait(ctx, domain); err != nil {
			failAll(chunk, err)
			continue
		}
		for rc, err := range r.deliverVia(ctx, rt, m, chunk) {
			out[rc] = err
		}
	}
	return out
}

// route resolves where domain's mail goes.
func (r *Remote) route(ctx context.Context, domain string) (route, *Error) {
	if sh := r.opts.Smarthost; sh.Addr != "" && (len(sh.Domains) == 0 || slices.ContainsFunc(sh.Domains, func(d string) bool { return strings.EqualFold(d, domain) })) {
		host, portStr, err := net.SplitHostPort(sh.Addr)
		port, perr := strconv.Atoi(portStr)
		if err != nil || perr != nil {
			return route{}, Temporaryf([3]int{4, 3, 5}, "Smarthost address is invalid", fmt.Errorf("smarthost %q", sh.Addr))
		}
		mode := tlsRequired
		switch sh.TLS {
		case "tls":
			mode = tlsImplicit
		case "none":
			mode = tlsNone
		}
		return route{hosts: []string{host}, port: port, mode: mode, key: "smarthost", smart: true}, nil
	}
	hosts, derr := mxHosts(ctx, r.opts.Resolver, domain)
	if derr != nil {
		return route{}, derr
	}
	rt := route{hosts: hosts, port: r.opts.Port, mode: tlsOpportunistic, key: "mx", domain: domain}
	if txt, ok := r.opts.Resolver.(TXTResolver); ok && r.opts.MTASTS != nil {
		if p := r.opts.MTASTS.policy(ctx, txt, domain, r.log); p != nil && p.mode != stsNone {
			rt.sts = p
			if p.mode == stsEnforce {
				// Verified TLS only, on connections of their own.
				rt.mode, rt.key = tlsRequired, "mx-sts"
			}
		}
	}
	return rt, nil
}

// rateWait waits for domain's rate-limit token, or defers when the wait
// would be long (the worker is better spent on other mail).
func (r *Remote) rateWait(ctx context.Context, domain string) error {
	wait := r.pool.wait(domain, r.opts.RateLimits[domain], time.Now())
	if wait == 0 {
		return nil
	}
	if wait > r.opts.MaxRateWait {
		r.pool.giveBack(domain)
		return Temporaryf([3]int{4, 7, 0}, fmt.Sprintf("Rate limit for %s reached (%d messages per minute)", domain, r.opts.RateLimits[domain]), nil)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return AsError(ctx.Err())
	}
}

// deliverVia tries rt's hosts in order until one takes the transaction.
// A host that cannot be reached, or refuses at greeting or EHLO, passes
// the message on to the next; the last host's failure is every
// recipient's outcome when none works.
func (r *Remote) deliverVia(ctx context.Context, rt route, m *Spooled, rcpts []string) map[string]error {
	var last *Error
	for _, host := range rt.hosts {
		if rt.sts != nil && !rt.sts.matches(host) {
			if rt.sts.mode == stsEnforce {
				last = stsDeniedHost(rt.domain, host)
				r.log.Info("mta-sts: MX host not in policy", "queue_id", m.ID, "domain", rt.domain, "remote", strings.TrimSuffix(host, "."))
				continue
			}
			r.stsWouldFail(m, rt, host, "MX host "+strings.TrimSuffix(host, ".")+" not in policy")
		}
		c, err := r.connect(ctx, rt, host)
		if err != nil {
			last = AsError(err)
			r.log.Debug("host failed", "queue_id", m.ID, "remote", host, "err", err)
			continue
		}
		if rt.sts != nil && rt.sts.mode == stsTesting && rt.sts.matches(host) {
			if err := verifyCert(c.state, strings.TrimSuffix(host, "."), r.opts.MTASTS.RootCAs); err != nil {
				r.stsWouldFail(m, rt, host, "no valid TLS to "+c.name+": "+err.Error())
			}
		}
		out, reusable := r.send(c, m, rcpts)
		if reusable && c.sent < r.opts.MaxMessagesPerConnection {
			r.pool.put(c)
		} else if reusable {
			c.quit()
		} else {
			c.c.Close()
		}
		return out
	}
	if last == nil {
		last = Temporaryf([3]int{4, 4, 4}, "No host to deliver to", nil)
	}
	out := make(map[string]error, len(rcpts))
	for _, rc := range rcpts {
		out[rc] = last
	}
	return out
}

// connect returns a ready connection to host: an idle one that still
// answers RSET, or a new one to each of its addresses in turn. A STARTTLS
// that fails its handshake is retried in plaintext (opportunistic TLS).
func (r *Remote) connect(ctx context.Context, rt route, host string) (*conn, error) {
	host = strings.TrimSuffix(host, ".")
	key := fmt.Sprintf("%s:%s:%d", rt.key, host, rt.port)
	for c := r.pool.get(key); c != nil; c = r.pool.get(key) {
		if err := c.c.Reset(); err == nil {
			return c, nil
		}
		c.c.Close()
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ips, err := r.opts.Resolver.LookupIPAddr(ctx, host+".")
		if err != nil {
			return nil, Temporaryf([3]int{4, 4, 3}, "DNS lookup of "+host+" failed", err)
		}
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip.IP); ok {
				addrs = append(addrs, a.Unmap())
			}
		}
		if len(addrs) == 0 {
			return nil, Temporaryf([3]int{4, 4, 3}, host+" has no address", nil)
		}
	}
	o := dialOptions{host: host, key: key, mode: rt.mode, hostname: r.opts.Hostname,
		timeout: r.opts.DialTimeout, command: r.opts.CommandTimeout, data: r.opts.DataTimeout}
	if rt.sts != nil && rt.sts.mode == stsEnforce {
		o.tls, o.sts = &tls.Config{RootCAs: r.opts.MTASTS.RootCAs}, true
	}
	if rt.smart {
		o.tls = r.opts.Smarthost.TLSConfig
		o.username, o.passwordFile = r.opts.Smarthost.Username, r.opts.Smarthost.PasswordFile
	}
	var last error
	for _, a := range addrs {
		o.addr = netip.AddrPortFrom(a, uint16(rt.port)).String()
		c, err := dial(ctx, o)
		if errors.Is(err, errTLSFailed) {
			r.log.Info("STARTTLS failed; retrying in plaintext", "remote", o.addr, "err", err)
			plain := o
			plain.mode = tlsNone
			c, err = dial(ctx, plain)
		}
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// stsWouldFail logs what a testing MTA-STS policy would have refused.
func (r *Remote) stsWouldFail(m *Spooled, rt route, host, reason string) {
	r.log.Warn("mta-sts testing: would fail: "+reason, "queue_id", m.ID, "domain", rt.domain, "remote", strings.TrimSuffix(host, "."))
}

// send runs one transaction on c. It reports whether c is still usable
// (every failure was a reply, not a broken connection).
func (r *Remote) send(c *conn, m *Spooled, rcpts []string) (map[string]error, bool) {
	out := make(map[string]error, len(rcpts))
	failAll := func(list []string, err error) {
		for _, rc := range list {
			out[rc] = err
		}
	}
	opts := &smtp.MailOptions{Size: m.Size}
	from := m.Envelope.From
	if r.opts.RewriteSender != nil {
		from = r.opts.RewriteSender(from)
	}
	if !isASCII(from) || slices.ContainsFunc(rcpts, func(s string) bool { return !isASCII(s) }) {
		if ok, _ := c.c.Extension("SMTPUTF8"); !ok {
			failAll(rcpts, &Error{Code: 553, Enhanced: [3]int{5, 6, 7}, Public: c.name + " does not support SMTPUTF8, needed for these addresses"})
			return out, true
		}
		opts.UTF8 = true
	}
	if limit, ok := c.c.MaxMessageSize(); ok && limit > 0 && m.Size > int64(limit) {
		failAll(rcpts, &Error{Code: 552, Enhanced: [3]int{5, 3, 4}, Public: fmt.Sprintf("Message too big for %s (%d bytes, limit %d)", c.name, m.Size, limit)})
		return out, true
	}
	if err := c.c.Mail(from, opts); err != nil {
		failAll(rcpts, replyError(c.name, "MAIL FROM", err))
		return out, usable(err)
	}
	var accepted []string
	for i, rc := range rcpts {
		if err := c.c.Rcpt(rc, nil); err != nil {
			out[rc] = replyError(c.name, "RCPT TO", err)
			if !usable(err) {
				failAll(rcpts[i+1:], out[rc])
				return out, false
			}
			continue
		}
		accepted = append(accepted, rc)
	}
	if len(accepted) == 0 {
		return out, true
	}
	f, err := m.Open()
	if err != nil {
		failAll(accepted, AsError(fmt.Errorf("open spool file: %w", err)))
		return out, false
	}
	defer f.Close()
	w, err := c.c.Data()
	if err != nil {
		failAll(accepted, replyError(c.name, "DATA", err))
		return out, usable(err)
	}
	// Nothing leaves with a bare CR or LF, whatever is in the spool (a
	// spool file from before the one stored form): the dot writer
	// stuffs dots and fixes bare LFs but passes a bare CR on, and a bare
	// CR is how SMTP smuggling ends data early at the next hop.
	if _, err := io.CopyBuffer(w, storage.CanonicalReader(f, false), make([]byte, 64<<10)); err != nil {
		failAll(accepted, connError(c.name, "DATA", err))
		return out, false
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		failAll(accepted, replyError(c.name, "end of DATA", err))
		return out, usable(err)
	}
	c.sent++
	for _, rc := range accepted {
		out[rc] = nil
		r.log.Info("delivered", "queue_id", m.ID, "rcpt", rc, "remote", c.name, "tls", yesNo(c.tls), "reply", oneLine(resp.StatusText))
	}
	return out, true
}

// usable reports whether the connection survives err: a reply other than
// 421 (closing) leaves it in a known state.
func usable(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code != 421
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
