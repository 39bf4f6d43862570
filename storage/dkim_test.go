package storage

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestDKIMKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newTestStore(t)
	mustDomain(t, s, "acme.test", "b.test")

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPEM, rsaPEM := pkcs8PEM(t, edKey), pkcs8PEM(t, rsaKey)

	if _, err := s.DKIMKey(ctx, "acme.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DKIMKey before set: %v, want ErrNotFound", err)
	}
	created := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	if err := s.SetDKIMKey(ctx, DKIMKey{Domain: "ACME.test", Selector: "Yubin202611", Algorithm: "ed25519", PrivateKeyPEM: edPEM, Created: created}); err != nil {
		t.Fatal(err)
	}
	k, err := s.DKIMKey(ctx, "acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if k.Domain != "acme.test" || k.Selector != "yubin202611" || k.Algorithm != "ed25519" || string(k.PrivateKeyPEM) != string(edPEM) || !k.Created.Equal(created) {
		t.Fatalf("DKIMKey = %+v", k)
	}
	// What the signer does with it.
	block, _ := pem.Decode(k.PrivateKeyPEM)
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parsed.(ed25519.PrivateKey); !ok {
		t.Fatalf("parsed key is %T", parsed)
	}

	// Setting again replaces; a second domain gets its own key.
	if err := s.SetDKIMKey(ctx, DKIMKey{Domain: "acme.test", Selector: "s2", Algorithm: "rsa", PrivateKeyPEM: rsaPEM}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDKIMKey(ctx, DKIMKey{Domain: "b.test", Selector: "s1", Algorithm: "ed25519", PrivateKeyPEM: edPEM}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.DKIMKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Domain != "acme.test" || keys[0].Selector != "s2" || keys[0].Algorithm != "rsa" || keys[1].Domain != "b.test" {
		t.Fatalf("DKIMKeys = %+v, %v", keys, err)
	}
	if time.Since(keys[0].Created) > time.Minute {
		t.Errorf("zero Created not set to now: %v", keys[0].Created)
	}

	for _, bad := range []struct {
		name string
		k    DKIMKey
		want error
	}{
		{"not local", DKIMKey{Domain: "other.test", Selector: "s", Algorithm: "ed25519", PrivateKeyPEM: edPEM}, ErrNoSuchDomain},
		{"bad selector", DKIMKey{Domain: "acme.test", Selector: "a_b", Algorithm: "ed25519", PrivateKeyPEM: edPEM}, nil},
		{"empty selector", DKIMKey{Domain: "acme.test", Selector: "", Algorithm: "ed25519", PrivateKeyPEM: edPEM}, nil},
		{"bad algorithm", DKIMKey{Domain: "acme.test", Selector: "s", Algorithm: "dsa", PrivateKeyPEM: edPEM}, nil},
		{"mismatch", DKIMKey{Domain: "acme.test", Selector: "s", Algorithm: "rsa", PrivateKeyPEM: edPEM}, nil},
		{"garbage", DKIMKey{Domain: "acme.test", Selector: "s", Algorithm: "rsa", PrivateKeyPEM: []byte("nope")}, nil},
	} {
		err := s.SetDKIMKey(ctx, bad.k)
		if err == nil || bad.want != nil && !errors.Is(err, bad.want) {
			t.Errorf("%s: SetDKIMKey = %v, want error %v", bad.name, err, bad.want)
		}
	}
	if k, _ := s.DKIMKey(ctx, "acme.test"); k.Selector != "s2" {
		t.Errorf("a refused SetDKIMKey changed the key: %+v", k)
	}

	if err := s.RemoveDKIMKey(ctx, "b.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDKIMKey(ctx, "b.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second RemoveDKIMKey = %v, want ErrNotFound", err)
	}
	// A key does not keep a domain alive: removing the domain removes it.
	if err := s.RemoveDomain(ctx, "acme.test"); err != nil {
		t.Fatalf("RemoveDomain with a DKIM key: %v", err)
	}
	if _, err := s.DKIMKey(ctx, "acme.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("key survived its domain: %v", err)
	}
	mustDomain(t, s, "acme.test")
	if keys, _ := s.DKIMKeys(ctx); len(keys) != 0 {
		t.Errorf("re-added domain has keys %+v", keys)
	}
}

func TestValidDKIMSelector(t *testing.T) {
	t.Parallel()
	for sel, ok := range map[string]bool{
		"yubin202611": true, "a.b-c": true, "s1": true,
		"": false, "-a": false, "a-": false, "a..b": false, "a_b": false, "a b": false, ".a": false,
	} {
		if err := ValidDKIMSelector(sel); (err == nil) != ok {
			t.Errorf("ValidDKIMSelector(%q) = %v, want ok %v", sel, err, ok)
		}
	}
}
