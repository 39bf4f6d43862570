package config

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEPrefixes are the names, each followed by a local domain, that get an
// ACME certificate besides the hostname: the client-setup and MTA-STS
// hosts served by the web listener.
var ACMEPrefixes = []string{"autoconfig.", "autodiscover.", "mta-sts."}

// LocalDomains tells which domains are local (*storage.Store implements
// it). It is asked at handshake time, so domains added later are covered.
type LocalDomains interface {
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
}

// acmeState is the ACME side of [Certificates].
type acmeState struct {
	m        *autocert.Manager
	hostname string
	policy   autocert.HostPolicy
}

// NewACMECertificates returns certificates obtained and renewed by ACME
// (tls.acme) through an [autocert.Manager]: account key and certificates
// are cached in tlsDir/acme, the directory is c.ACMEDirectory (Let's
// Encrypt when empty), and the names allowed are hostname and
// autoconfig./autodiscover./mta-sts. of each local domain. Renewal is
// autocert's: every handshake gets the current certificate. A ClientHello
// without SNI, or for a name not allowed (many MTAs send none or an IP),
// gets the hostname's certificate.
func NewACMECertificates(c TLS, tlsDir, hostname string, domains LocalDomains, logger *slog.Logger) (*Certificates, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(tlsDir, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: ACMEHostPolicy(hostname, domains),
		Email:      c.ACMEEmail,
	}
	if c.ACMEDirectory != "" {
		m.Client = &acme.Client{DirectoryURL: c.ACMEDirectory}
	}
	cs := &Certificates{files: c, tlsDir: tlsDir, hostname: hostname, logger: logger}
	cs.acme = &acmeState{m: m, hostname: strings.ToLower(strings.TrimSuffix(hostname, ".")), policy: m.HostPolicy}
	directory := c.ACMEDirectory
	if directory == "" {
		directory = autocert.DefaultACMEDirectory
	}
	logger.Info("TLS certificates from ACME", "directory", directory, "cache", dir, "hostname", hostname)
	return cs, nil
}

// ACMEHostPolicy allows hostname and, for each local domain D,
// autoconfig.D, autodiscover.D and mta-sts.D (a ":port" suffix is
// ignored). Domains are looked up at each call.
func ACMEHostPolicy(hostname string, domains LocalDomains) autocert.HostPolicy {
	hostname = strings.ToLower(strings.TrimSuffix(hostname, "."))
	return func(ctx context.Context, name string) error {
		// autocert's HTTP-01 handler passes the Host header, port included.
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if name == hostname {
			return nil
		}
		for _, p := range ACMEPrefixes {
			d, ok := strings.CutPrefix(name, p)
			if !ok || d == "" || domains == nil {
				continue
			}
			local, err := domains.IsLocalDomain(ctx, d)
			if err != nil {
				return fmt.Errorf("acme: host policy for %q: %w", name, err)
			}
			if local {
				return nil
			}
		}
		return fmt.Errorf("acme: %q is not the hostname nor autoconfig/autodiscover/mta-sts of a local domain", name)
	}
}

// acmeGetCertificate serves the ACME certificate for the ClientHello's name,
// or the hostname's when there is no name or it is not allowed.
func (c *Certificates) acmeGetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	a := c.acme
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" && slices.Contains(hello.SupportedProtos, acme.ALPNProto) {
		return a.m.GetCertificate(hello) // a TLS-ALPN-01 challenge
	}
	if name != "" && name != a.hostname {
		ctx, cancel := context.WithTimeout(helloContext(hello), 10*time.Second)
		err := a.policy(ctx, name)
		cancel()
		if err == nil {
			return a.m.GetCertificate(hello)
		}
	}
	h := *hello
	h.ServerName = a.hostname
	cert, err := a.m.GetCertificate(&h)
	if err != nil {
		return nil, err
	}
	if cert.Leaf != nil {
		c.cert.Store(cert) // for Leaf (status)
	}
	return cert, nil
}

// helloContext is the handshake's context, or Background for a
// ClientHelloInfo built outside a handshake.
func helloContext(hello *tls.ClientHelloInfo) context.Context {
	if ctx := hello.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// ACME reports whether certificates come from ACME.
func (c *Certificates) ACME() bool { return c.acme != nil }

// HTTPHandler answers ACME HTTP-01 challenges (/.well-known/acme-challenge/)
// and passes every other request to fallback. Without ACME it is fallback.
func (c *Certificates) HTTPHandler(fallback http.Handler) http.Handler {
	if c.acme == nil {
		return fallback
	}
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	return c.acme.m.HTTPHandler(fallback)
}

// HTTPSConfig is [Certificates.TLSConfig] for the HTTPS listener: with
// ACME it also offers the TLS-ALPN-01 protocol (acme-tls/1).
func (c *Certificates) HTTPSConfig() *tls.Config {
	cfg := c.TLSConfig()
	if c.acme != nil {
		cfg.NextProtos = []string{"http/1.1", acme.ALPNProto}
	}
	return cfg
}
