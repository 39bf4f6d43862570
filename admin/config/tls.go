package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// selfSignedValidity is the lifetime of a generated certificate.
	selfSignedValidity = 365 * 24 * time.Hour
	// selfSignedRenewBefore is how long before expiry a generated
	// certificate is replaced at load or reload.
	selfSignedRenewBefore = 30 * 24 * time.Hour

	selfSignedCert = "selfsigned.crt"
	selfSignedKey  = "selfsigned.key"
)

// Certificates is the TLS certificate every listener serves. It is loaded
// once at start and replaced by [Certificates.Reload] (on SIGHUP); listeners
// built from [Certificates.TLSConfig] pick up a reloaded certificate on
// their next handshake, without restarting. It is safe for concurrent use.
type Certificates struct {
	files    TLS    // the configured files; both empty for the self-signed fallback
	tlsDir   string // where the self-signed fallback lives
	hostname string
	logger   *slog.Logger

	mu   sync.Mutex // serializes Reload
	cert atomic.Pointer[tls.Certificate]

	acme *acmeState // set by NewACMECertificates; cert is then the last hostname certificate served
}

// LoadCertificates loads the certificate that c names. With both
// c.CertFile and c.KeyFile set it reads those PEM files; setting only one is
// an error. With neither it falls back to a self-signed certificate for
// hostname, "localhost", 127.0.0.1 and ::1 in tlsDir (created with mode
// 0700), generating a new one (ECDSA P-256, valid one year) on first start,
// when the stored one is unreadable, near expiry, or does not cover
// hostname. The fallback is logged as a warning at every load. A nil
// logger discards.
func LoadCertificates(c TLS, tlsDir, hostname string, logger *slog.Logger) (*Certificates, error) {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("tls: set both tls.cert_file and tls.key_file, or neither")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cs := &Certificates{files: c, tlsDir: tlsDir, hostname: hostname, logger: logger}
	if err := cs.Reload(); err != nil {
		return nil, err
	}
	return cs, nil
}

// Reload re-reads the certificate files (the self-signed fallback is checked
// and regenerated if needed, as at load). On error the current certificate
// stays in use and the error is returned.
func (c *Certificates) Reload() error {
	if c.acme != nil {
		c.logger.Info("TLS certificates come from ACME and renew by themselves; nothing to reload")
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var cert *tls.Certificate
	if c.files.CertFile != "" {
		var err error
		cert, err = loadKeyPair(c.files.CertFile, c.files.KeyFile)
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case now.After(cert.Leaf.NotAfter):
			c.logger.Warn("TLS certificate has expired", "cert", c.files.CertFile, "not_after", cert.Leaf.NotAfter)
		case now.Before(cert.Leaf.NotBefore):
			c.logger.Warn("TLS certificate is not valid yet", "cert", c.files.CertFile, "not_before", cert.Leaf.NotBefore)
		}
		if err := cert.Leaf.VerifyHostname(c.hostname); err != nil {
			c.logger.Warn("TLS certificate does not cover the hostname", "cert", c.files.CertFile, "hostname", c.hostname, "err", err)
		}
		c.logger.Info("loaded TLS certificate", "cert", c.files.CertFile, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	} else {
		var err error
		cert, err = c.selfSigned()
		if err != nil {
			return err
		}
		c.logger.Warn("using a self-signed certificate; clients will warn; set tls.cert_file and tls.key_file",
			"cert", filepath.Join(c.tlsDir, selfSignedCert), "not_after", cert.Leaf.NotAfter)
	}
	c.cert.Store(cert)
	return nil
}

// TLSConfig returns a new server configuration, TLS 1.2 or later, that
// serves the current certificate at each handshake.
func (c *Certificates) TLSConfig() *tls.Config {
	if c.acme != nil {
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.acmeGetCertificate}
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}

// Leaf returns the current certificate's leaf; with ACME, the hostname's
// certificate last served, or nil before the first handshake.
func (c *Certificates) Leaf() *x509.Certificate {
	if cert := c.cert.Load(); cert != nil {
		return cert.Leaf
	}
	return nil
}

// loadKeyPair reads a PEM certificate chain and its key, with Leaf set.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: parsing %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// selfSigned returns the self-signed fallback from c.tlsDir, generating and
// storing a new one when there is none usable.
func (c *Certificates) selfSigned() (*tls.Certificate, error) {
	if err := os.MkdirAll(c.tlsDir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	certPath := filepath.Join(c.tlsDir, selfSignedCert)
	keyPath := filepath.Join(c.tlsDir, selfSignedKey)

	cert, err := loadKeyPair(certPath, keyPath)
	now := time.Now()
	var reason string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reason = "none yet"
	case err != nil:
		reason = err.Error()
	case now.After(cert.Leaf.NotAfter.Add(-selfSignedRenewBefore)):
		reason = "expires " + cert.Leaf.NotAfter.Format(time.RFC3339)
	case cert.Leaf.VerifyHostname(c.hostname) != nil:
		reason = "does not cover " + c.hostname
	default:
		return cert, nil
	}

	certPEM, keyPEM, err := generateSelfSigned(c.hostname, now)
	if err != nil {
		return nil, err
	}
	// Key first: a crash between the renames leaves a mismatched pair,
	// which the next load replaces.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	c.logger.Info("generated a self-signed TLS certificate", "cert", certPath, "reason", reason)
	return loadKeyPair(certPath, keyPath)
}

// generateSelfSigned returns a new PEM certificate and PKCS #8 key for
// hostname, "localhost", 127.0.0.1 and ::1, valid from now.
func generateSelfSigned(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"Yubin self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, name := range []string{hostname, "localhost"} {
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if name != "" && (len(tmpl.DNSNames) == 0 || tmpl.DNSNames[0] != name) {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced, given perm and renamed over path, and the
// directory is synced.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("tls: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tls: writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tls: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("tls: syncing %s: %w", dir, err)
	}
	return nil
}
