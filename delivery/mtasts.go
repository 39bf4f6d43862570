package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MTASTS applies recipient domains' MTA-STS policies (RFC 8461) to
// outbound delivery. The zero value is ready: policies are fetched with
// a client that verifies against the system roots, and MX certificates
// are verified against the system roots. Policies are cached in memory
// per domain until their max_age, and refetched when the domain's
// _mta-sts TXT id changes. Safe for concurrent use; share one between
// Remotes if there are several.
//
// The TXT record is looked up through RemoteOptions.Resolver, which must
// then also have LookupTXT (as *net.Resolver does); without it MTA-STS
// is not applied.
type MTASTS struct {
	// HTTPClient fetches https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
	// Redirects are never followed (RFC 8461 §3.3). Default: a client
	// with a 30s timeout and the system roots.
	HTTPClient *http.Client
	// RootCAs verify MX certificates under an enforce (or testing)
	// policy. nil means the system roots.
	RootCAs *x509.CertPool

	// now is the clock (tests).
	now func() time.Time

	mu       sync.Mutex
	cache    map[string]*stsEntry
	inflight map[string]chan struct{}
}

// TXTResolver is the TXT lookup MTA-STS needs, an optional extension of
// Resolver.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// stsMode is a policy mode.
type stsMode string

const (
	stsEnforce stsMode = "enforce"
	stsTesting stsMode = "testing"
	stsNone    stsMode = "none"
)

// stsPolicy is a parsed policy (RFC 8461 §3.2).
type stsPolicy struct {
	mode   stsMode
	mx     []string // lower-case patterns, "*.example.com" allowed
	maxAge time.Duration
}

// stsEntry is a cached policy.
type stsEntry struct {
	id      string
	policy  *stsPolicy
	expires time.Time
}

// Limits from RFC 8461: max_age at most a year (§3.2); a policy body is
// small (we accept 64 KiB).
const (
	stsMaxAge     = 31557600 * time.Second
	stsMaxBody    = 64 << 10
	stsFetchLimit = 30 * time.Second
)

func (s *MTASTS) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// policy returns domain's policy to apply now, or nil for none. Errors
// are logged, never returned: per RFC 8461 §5 a failed discovery or fetch
// falls back to a cached, unexpired policy, else to delivery as without
// MTA-STS.
func (s *MTASTS) policy(ctx context.Context, txt TXTResolver, domain string, log *slog.Logger) *stsPolicy {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for {
		s.mu.Lock()
		if s.cache == nil {
			s.cache, s.inflight = map[string]*stsEntry{}, map[string]chan struct{}{}
		}
		wait, busy := s.inflight[domain]
		if !busy {
			done := make(chan struct{})
			s.inflight[domain] = done
			s.mu.Unlock()
			defer func() {
				s.mu.Lock()
				delete(s.inflight, domain)
				s.mu.Unlock()
				close(done)
			}()
			return s.resolve(ctx, txt, domain, log)
		}
		s.mu.Unlock()
		// Another delivery is discovering this domain's policy: wait
		// for it, then read the cache (a cheap TXT lookup again).
		select {
		case <-wait:
		case <-ctx.Done():
			return s.cached(domain)
		}
	}
}

// cached returns domain's unexpired cached policy, or nil.
func (s *MTASTS) cached(domain string) *stsPolicy {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.cache[domain]; e != nil && s.clock().Before(e.expires) {
		return e.policy
	}
	return nil
}

func (s *MTASTS) resolve(ctx context.Context, txt TXTResolver, domain string, log *slog.Logger) *stsPolicy {
	s.mu.Lock()
	e := s.cache[domain]
	if e != nil && !s.clock().Before(e.expires) {
		delete(s.cache, domain)
		e = nil
	}
	s.mu.Unlock()
	id, err := lookupSTSID(ctx, txt, domain)
	if err != nil {
		if e != nil {
			log.Info("mta-sts discovery failed; using cached policy", "domain", domain, "err", err)
			return e.policy
		}
		if !dnsNotFound(err) && !errors.Is(err, errNoSTSRecord) {
			log.Info("mta-sts discovery failed", "domain", domain, "err", err)
		}
		return nil
	}
	if e != nil && e.id == id {
		return e.policy
	}
	p, err := s.fetch(ctx, domain)
	if err != nil {
		if e != nil {
			log.Warn("mta-sts policy fetch failed; using cached policy", "domain", domain, "err", err)
			return e.policy
		}
		log.Warn("mta-sts policy fetch failed; delivering without it", "domain", domain, "err", err)
		return nil
	}
	s.mu.Lock()
	s.cache[domain] = &stsEntry{id: id, policy: p, expires: s.clock().Add(p.maxAge)}
	s.mu.Unlock()
	log.Info("mta-sts policy fetched", "domain", domain, "id", id, "mode", string(p.mode), "max_age", p.maxAge.String())
	return p
}

var errNoSTSRecord = errors.New("no v=STSv1 TXT record")

// lookupSTSID returns the id of domain's _mta-sts TXT record (RFC 8461
// §3.1). Several STSv1 records count as none.
func lookupSTSID(ctx context.Context, txt TXTResolver, domain string) (string, error) {
	recs, err := txt.LookupTXT(ctx, "_mta-sts."+domain+".")
	if err != nil {
		return "", err
	}
	var ids []string
	for _, r := range recs {
		if id, ok := parseSTSRecord(r); ok {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return "", errNoSTSRecord
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d v=STSv1 TXT records", len(ids))
}

// parseSTSRecord parses "v=STSv1; id=20160831085700Z;".
func parseSTSRecord(r string) (string, bool) {
	fields := strings.Split(r, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", false
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" && len(v) >= 1 && len(v) <= 32 && isAlnum(v) {
			return v, true
		}
	}
	return "", false
}

func isAlnum(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// fetch gets and parses domain's policy over HTTPS.
func (s *MTASTS) fetch(ctx context.Context, domain string) (*stsPolicy, error) {
	c := http.Client{Timeout: stsFetchLimit}
	if s.HTTPClient != nil {
		c = *s.HTTPClient
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want text/plain", url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, stsMaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > stsMaxBody {
		return nil, fmt.Errorf("GET %s: policy larger than %d bytes", url, stsMaxBody)
	}
	p, err := parseSTSPolicy(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return p, nil
}

// parseSTSPolicy parses a policy body (RFC 8461 §3.2): "key: value"
// lines, CRLF or LF; unknown keys are ignored.
func parseSTSPolicy(body string) (*stsPolicy, error) {
	p := &stsPolicy{}
	var version, mode, maxAge string
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("malformed policy line %q", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			mode = v
		case "max_age":
			maxAge = v
		case "mx":
			p.mx = append(p.mx, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	if version != "STSv1" {
		return nil, fmt.Errorf("policy version %q, want STSv1", version)
	}
	switch stsMode(mode) {
	case stsEnforce, stsTesting, stsNone:
		p.mode = stsMode(mode)
	default:
		return nil, fmt.Errorf("policy mode %q", mode)
	}
	n, err := strconv.ParseUint(maxAge, 10, 64)
	if err != nil || len(maxAge) > 10 {
		return nil, fmt.Errorf("policy max_age %q", maxAge)
	}
	p.maxAge = time.Duration(min(n, uint64(stsMaxAge/time.Second))) * time.Second
	if p.mode != stsNone && len(p.mx) == 0 {
		return nil, errors.New("policy lists no mx")
	}
	return p, nil
}

// matches reports whether the MX host is allowed by the policy: an exact
// name, or "*.example.com" for one extra leftmost label (RFC 8461 §4.1).
func (p *stsPolicy) matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.mx {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if label, suffix, ok := strings.Cut(host, "."); ok && label != "" && suffix == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// verifyCert checks that a TLS session presented a certificate valid for
// host (RFC 8461 §4.2) against roots (nil: the system roots).
func verifyCert(st *tls.ConnectionState, host string, roots *x509.CertPool) error {
	if st == nil {
		return errors.New("no STARTTLS")
	}
	if len(st.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}

// stsDeniedHost is the failure for an MX host an enforce policy does not
// list.
func stsDeniedHost(domain, host string) *Error {
	return Temporaryf([3]int{4, 7, 5}, fmt.Sprintf("MTA-STS policy of %s does not list MX host %s", domain, strings.TrimSuffix(host, ".")), nil)
}

// ensure *net.Resolver has the TXT lookup.
var _ TXTResolver = (*net.Resolver)(nil)
