package storage

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DKIM key algorithms (the k= tag of the DNS record, RFC 6376 §3.6.1 and
// RFC 8463).
const (
	DKIMAlgorithmRSA     = "rsa"
	DKIMAlgorithmEd25519 = "ed25519"
)

// DKIMKey is a domain's DKIM signing key. A domain has at most one; the
// public half is published as a TXT record at
// <Selector>._domainkey.<Domain>.
//
// Signers parse PrivateKeyPEM with x509.ParsePKCS8PrivateKey: the result
// is an *rsa.PrivateKey for "rsa" and an ed25519.PrivateKey for "ed25519",
// both crypto.Signers as go-msgauth's dkim.SignOptions.Signer wants.
type DKIMKey struct {
	Domain        string // NormalizeDomain form
	Selector      string // lower-case DNS labels, e.g. "yubin202611"
	Algorithm     string // DKIMAlgorithmRSA or DKIMAlgorithmEd25519
	PrivateKeyPEM []byte // PKCS#8, PEM type "PRIVATE KEY"
	Created       time.Time
}

// ValidDKIMSelector checks a selector: one or more DNS labels of letters,
// digits and inner hyphens (RFC 6376 §3.1), at most 63 octets each.
func ValidDKIMSelector(sel string) error {
	if sel == "" || len(sel) > 200 {
		return fmt.Errorf("DKIM selector %q: must be 1 to 200 characters", sel)
	}
	for label := range strings.SplitSeq(sel, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("DKIM selector %q: bad label %q", sel, label)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("DKIM selector %q: only letters, digits, '-' and '.' are allowed", sel)
			}
		}
	}
	return nil
}

// ParseDKIMPrivateKey parses a PKCS#8 PEM private key and checks that it
// suits algorithm: an RSA key of at least 1024 bits for "rsa" (RFC 8301),
// an Ed25519 key for "ed25519".
func ParseDKIMPrivateKey(algorithm string, pemData []byte) (any, error) {
	block, _ := pem.Decode(pemData)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("DKIM key: not a PEM \"PRIVATE KEY\" (PKCS#8) block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("DKIM key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if algorithm != DKIMAlgorithmRSA {
			return nil, fmt.Errorf("DKIM key: an RSA key for algorithm %q", algorithm)
		}
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("DKIM key: RSA key of %d bits; at least 1024 needed", k.N.BitLen())
		}
	case ed25519.PrivateKey:
		if algorithm != DKIMAlgorithmEd25519 {
			return nil, fmt.Errorf("DKIM key: an Ed25519 key for algorithm %q", algorithm)
		}
	default:
		return nil, fmt.Errorf("DKIM key: unsupported key type %T", key)
	}
	return key, nil
}

// SetDKIMKey stores k as the DKIM key of k.Domain, replacing the domain's
// previous key if it has one (callers that must not replace a key check
// DKIMKey first). The domain must be local (ErrNoSuchDomain); the
// selector, algorithm and key are validated. A zero Created means now.
// The key is removed with its domain: RemoveDomain is not blocked by it.
func (s *Store) SetDKIMKey(ctx context.Context, k DKIMKey) error {
	d, err := normDomainArg(k.Domain)
	if err != nil {
		return fmt.Errorf("set DKIM key: %w", err)
	}
	sel := strings.ToLower(strings.TrimSpace(k.Selector))
	if err := ValidDKIMSelector(sel); err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	if k.Algorithm != DKIMAlgorithmRSA && k.Algorithm != DKIMAlgorithmEd25519 {
		return fmt.Errorf("set DKIM key for %q: unknown algorithm %q (rsa or ed25519)", d, k.Algorithm)
	}
	if _, err := ParseDKIMPrivateKey(k.Algorithm, k.PrivateKeyPEM); err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	created := k.Created
	if created.IsZero() {
		created = time.Now()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM domains WHERE name = ?`, d).Scan(&n); err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	if n == 0 {
		return fmt.Errorf("set DKIM key: domain %q: %w", d, ErrNoSuchDomain)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dkim_keys (domain, selector, algorithm, private_key, created)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET selector = excluded.selector, algorithm = excluded.algorithm,
			private_key = excluded.private_key, created = excluded.created`,
		d, sel, k.Algorithm, string(k.PrivateKeyPEM), created.Unix()); err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set DKIM key for %q: %w", d, err)
	}
	return nil
}

const dkimColumns = `domain, selector, algorithm, private_key, created`

func scanDKIMKey(sc interface{ Scan(...any) error }) (DKIMKey, error) {
	var k DKIMKey
	var pemText string
	var created int64
	if err := sc.Scan(&k.Domain, &k.Selector, &k.Algorithm, &pemText, &created); err != nil {
		return DKIMKey{}, err
	}
	k.PrivateKeyPEM = []byte(pemText)
	k.Created = time.Unix(created, 0).UTC()
	return k, nil
}

// DKIMKey returns the DKIM key of domain. ErrNotFound if it has none
// (including when the domain is not local). Every call reads yubin.db, so
// a key generated by mailctl is used by a running maild at once.
func (s *Store) DKIMKey(ctx context.Context, domain string) (DKIMKey, error) {
	d, err := normDomainArg(domain)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("look up DKIM key: %w: %w", err, ErrNotFound)
	}
	k, err := scanDKIMKey(s.db.QueryRowContext(ctx, `SELECT `+dkimColumns+` FROM dkim_keys WHERE domain = ?`, d))
	if errors.Is(err, sql.ErrNoRows) {
		return DKIMKey{}, fmt.Errorf("DKIM key for %q: %w", d, ErrNotFound)
	}
	if err != nil {
		return DKIMKey{}, fmt.Errorf("look up DKIM key for %q: %w", d, err)
	}
	return k, nil
}

// DKIMKeys lists every domain's DKIM key, sorted by domain.
func (s *Store) DKIMKeys(ctx context.Context) ([]DKIMKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+dkimColumns+` FROM dkim_keys ORDER BY domain`)
	if err != nil {
		return nil, fmt.Errorf("list DKIM keys: %w", err)
	}
	defer rows.Close()
	var out []DKIMKey
	for rows.Next() {
		k, err := scanDKIMKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list DKIM keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list DKIM keys: %w", err)
	}
	return out, nil
}

// RemoveDKIMKey removes domain's DKIM key; mail from the domain is then
// sent unsigned. ErrNotFound if it has none.
func (s *Store) RemoveDKIMKey(ctx context.Context, domain string) error {
	d, err := normDomainArg(domain)
	if err != nil {
		return fmt.Errorf("remove DKIM key: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM dkim_keys WHERE domain = ?`, d)
	if err != nil {
		return fmt.Errorf("remove DKIM key for %q: %w", d, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("DKIM key for %q: %w", d, ErrNotFound)
	}
	return nil
}
