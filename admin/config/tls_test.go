package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestCert writes a self-signed certificate for dnsName, valid until
// notAfter, to dir/name.crt and dir/name.key and returns their paths and
// the certificate's DER bytes.
func writeTestCert(t *testing.T, dir, name, dnsName string, notAfter time.Time) (certFile, keyFile string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    notAfter.Add(-48 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, der
}

// handshake connects a client to a server using cfg over an in-memory pipe
// and returns the certificate the server presented.
func handshake(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(c1, cfg)
		done <- srv.Handshake()
		srv.Close()
	}()
	client := tls.Client(c2, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13})
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return client.ConnectionState().PeerCertificates[0]
}

func TestSelfSignedGeneratedThenReused(t *testing.T) {
	t.Parallel()
	tlsDir := filepath.Join(t.TempDir(), "tls")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	first, err := LoadCertificates(TLS{}, tlsDir, "mail.example.test", logger)
	if err != nil {
		t.Fatal(err)
	}
	leaf := first.Leaf()
	for _, name := range []string{"mail.example.test", "localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("self-signed certificate does not cover %s: %v", name, err)
		}
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", leaf.PublicKey)
	}
	if d := time.Until(leaf.NotAfter); d < 360*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("certificate valid for %v, want about a year", d)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"using a self-signed certificate; clients will warn; set tls.cert_file and tls.key_file\"") {
		t.Errorf("no self-signed warning in logs:\n%s", logs.String())
	}

	for name, want := range map[string]os.FileMode{"": 0o750, selfSignedKey: 0o600, selfSignedCert: 0o644} {
		fi, err := os.Stat(filepath.Join(tlsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The umask may clear bits but must not add any.
		if fi.Mode().Perm()&^want != 0 {
			t.Errorf("%s/%s mode = %v, want at most %v", tlsDir, name, fi.Mode().Perm(), want)
		}
	}
	entries, err := os.ReadDir(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("tls dir holds %d entries, want 2 (no temporary files left)", len(entries))
	}

	second, err := LoadCertificates(TLS{}, tlsDir, "mail.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Leaf().Raw, leaf.Raw) {
		t.Errorf("second load generated a new certificate, want the stored one")
	}
	if err := second.Reload(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.Leaf().Raw, leaf.Raw) {
		t.Errorf("Reload replaced a good self-signed certificate")
	}
}

func TestSelfSignedRegeneratedForNewHostname(t *testing.T) {
	t.Parallel()
	tlsDir := t.TempDir()
	first, err := LoadCertificates(TLS{}, tlsDir, "old.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadCertificates(TLS{}, tlsDir, "new.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Leaf().Raw, second.Leaf().Raw) {
		t.Fatal("hostname changed but the certificate was reused")
	}
	if err := second.Leaf().VerifyHostname("new.example.test"); err != nil {
		t.Error(err)
	}
}

func TestSelfSignedExpiredRegenerated(t *testing.T) {
	t.Parallel()
	tlsDir := t.TempDir()
	_, _, expired := writeTestCert(t, tlsDir, "selfsigned", "mail.example.test", time.Now().Add(-time.Hour))
	c, err := LoadCertificates(TLS{}, tlsDir, "mail.example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c.Leaf().Raw, expired) || time.Now().After(c.Leaf().NotAfter) {
		t.Error("expired self-signed certificate was kept")
	}
}

func TestSelfSignedCorruptRegenerated(t *testing.T) {
	t.Parallel()
	tlsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tlsDir, selfSignedCert), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertificates(TLS{}, tlsDir, "mail.example.test", nil); err != nil {
		t.Fatalf("corrupt self-signed files: %v, want them replaced", err)
	}
}

func TestReloadPicksUpNewCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, derA := writeTestCert(t, dir, "cert", "mail.example.com", time.Now().Add(24*time.Hour))
	c, err := LoadCertificates(TLS{CertFile: certFile, KeyFile: keyFile}, filepath.Join(dir, "tls"), "mail.example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Leaf().Raw, derA) {
		t.Fatal("Leaf is not the configured certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, "tls")); !os.IsNotExist(err) {
		t.Errorf("configured files, but the self-signed directory was made (stat err %v)", err)
	}
	cfg := c.TLSConfig()
	if got := handshake(t, cfg); !bytes.Equal(got.Raw, derA) {
		t.Error("handshake served the wrong certificate")
	}

	_, _, derB := writeTestCert(t, dir, "cert", "mail.example.com", time.Now().Add(48*time.Hour))
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Leaf().Raw, derB) {
		t.Fatal("Reload did not pick up the new certificate")
	}
	// The config made before the reload serves the new certificate.
	if got := handshake(t, cfg); !bytes.Equal(got.Raw, derB) {
		t.Error("handshake after Reload served the old certificate")
	}

	// A broken file keeps the current certificate.
	if err := os.WriteFile(certFile, []byte("not PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("Reload of a broken file = %v, want an error naming %s", err, certFile)
	}
	if !bytes.Equal(c.Leaf().Raw, derB) {
		t.Error("failed Reload replaced the certificate")
	}
}

func TestLoadCertificatesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certA, _, _ := writeTestCert(t, dir, "a", "mail.example.com", time.Now().Add(time.Hour))
	_, keyB, _ := writeTestCert(t, dir, "b", "mail.example.com", time.Now().Add(time.Hour))
	tests := []struct {
		name string
		tls  TLS
		want string
	}{
		{"only cert", TLS{CertFile: certA}, "set both tls.cert_file and tls.key_file"},
		{"only key", TLS{KeyFile: keyB}, "set both tls.cert_file and tls.key_file"},
		{"mismatched", TLS{CertFile: certA, KeyFile: keyB}, "private key does not match"},
		{"missing", TLS{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: keyB}, "nope.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadCertificates(tt.tls, filepath.Join(dir, "tls"), "mail.example.com", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadCertificates = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTLSConfigMinVersion(t *testing.T) {
	t.Parallel()
	c, err := LoadCertificates(TLS{}, t.TempDir(), "localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	if cfg.Certificates != nil || cfg.GetCertificate == nil {
		t.Error("TLSConfig must serve the certificate through GetCertificate")
	}
}
