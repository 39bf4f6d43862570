package admin

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"yubin/storage"
)

// DKIMRSABits is the size of RSA keys GenerateDKIMKey makes: 2048 bits,
// what RFC 8301 recommends and what every verifier accepts. Its record
// (about 400 characters) needs the TXT value split into strings.
const DKIMRSABits = 2048

// DefaultDKIMSelector is the selector `mailctl dkim generate` uses
// without --selector: "yubin" and the year and month, e.g. "yubin202611",
// so a rotated key gets a new name and both records can coexist in DNS.
func DefaultDKIMSelector(now time.Time) string {
	return "yubin" + now.UTC().Format("200601")
}

// GenerateDKIMKey makes a new DKIM private key for algorithm "rsa"
// (2048 bits) or "ed25519", encoded as PKCS#8 PEM ("PRIVATE KEY").
func GenerateDKIMKey(algorithm string) (privPEM []byte, err error) {
	var key crypto.Signer
	switch algorithm {
	case storage.DKIMAlgorithmRSA:
		key, err = rsa.GenerateKey(rand.Reader, DKIMRSABits)
	case storage.DKIMAlgorithmEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("DKIM algorithm %q: use rsa or ed25519", algorithm)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s DKIM key: %w", algorithm, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode DKIM key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DKIMRecord returns the DNS TXT record that publishes k's public key:
// name is "<selector>._domainkey.<domain>." (fully qualified) and value
// "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" (RFC 6376 §3.6.1) or
// "v=DKIM1; k=ed25519; p=<base64 of the raw 32-byte key>" (RFC 8463 §4.2).
func DKIMRecord(k storage.DKIMKey) (name, value string, err error) {
	key, err := storage.ParseDKIMPrivateKey(k.Algorithm, k.PrivateKeyPEM)
	if err != nil {
		return "", "", fmt.Errorf("DKIM key of %s: %w", k.Domain, err)
	}
	var p []byte
	switch key := key.(type) {
	case *rsa.PrivateKey:
		if p, err = x509.MarshalPKIXPublicKey(&key.PublicKey); err != nil {
			return "", "", fmt.Errorf("DKIM key of %s: %w", k.Domain, err)
		}
	case ed25519.PrivateKey:
		p = key.Public().(ed25519.PublicKey)
	}
	name = k.Selector + "._domainkey." + k.Domain + "."
	value = fmt.Sprintf("v=DKIM1; k=%s; p=%s", k.Algorithm, base64.StdEncoding.EncodeToString(p))
	return name, value, nil
}

// DKIMZoneLine formats a TXT record as one zone-file line,
//
//	yubin202611._domainkey.acme.test. IN TXT "v=DKIM1; k=ed25519; p=..."
//
// with the value split into quoted character-strings of at most 255
// octets (RFC 1035 §3.3.14; resolvers join them back, RFC 6376 §3.6.2.2).
// DKIM values hold no quotes or backslashes, so nothing needs escaping.
func DKIMZoneLine(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(" IN TXT")
	for len(value) > 0 {
		n := min(len(value), 255)
		fmt.Fprintf(&b, " %q", value[:n])
		value = value[n:]
	}
	return b.String()
}

// DKIMInfo is a DKIM key as `mailctl dkim list --json` shows it: the
// public record, never the private key.
type DKIMInfo struct {
	Domain     string    `json:"domain"`
	Selector   string    `json:"selector"`
	Algorithm  string    `json:"algorithm"`
	Created    time.Time `json:"created"`
	RecordName string    `json:"record_name"`
	Record     string    `json:"record"`
}

// NewDKIMInfo describes k with its DNS record.
func NewDKIMInfo(k storage.DKIMKey) (DKIMInfo, error) {
	name, value, err := DKIMRecord(k)
	if err != nil {
		return DKIMInfo{}, err
	}
	return DKIMInfo{Domain: k.Domain, Selector: k.Selector, Algorithm: k.Algorithm, Created: k.Created,
		RecordName: name, Record: value}, nil
}
