package admin

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"yubin/storage"
)

// txtFromZoneLine reads a zone line back as a resolver would: the quoted
// strings joined into one value.
func txtFromZoneLine(t *testing.T, line string) (name, value string) {
	t.Helper()
	name, rest, ok := strings.Cut(line, " IN TXT ")
	if !ok {
		t.Fatalf("zone line %q has no ' IN TXT '", line)
	}
	parts := regexp.MustCompile(`"[^"]*"`).FindAllString(rest, -1)
	if strings.Join(parts, " ") != rest {
		t.Fatalf("zone line %q: TXT data is not a list of quoted strings", line)
	}
	for _, p := range parts {
		s, err := strconv.Unquote(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) > 255 {
			t.Errorf("character-string of %d octets", len(s))
		}
		value += s
	}
	return name, value
}

func TestDKIMKeyAndRecord(t *testing.T) {
	t.Parallel()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	if _, err := st.AddDomain(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateDKIMKey("dsa"); err == nil {
		t.Errorf("GenerateDKIMKey(dsa) succeeded")
	}
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			privPEM, err := GenerateDKIMKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			sel := DefaultDKIMSelector(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC))
			if sel != "yubin202611" {
				t.Fatalf("DefaultDKIMSelector = %q", sel)
			}
			sel += algo // both subtests share the domain's one key slot; keep names apart
			if err := st.SetDKIMKey(ctx, storage.DKIMKey{Domain: "acme.test", Selector: sel, Algorithm: algo, PrivateKeyPEM: privPEM}); err != nil {
				t.Fatal(err)
			}
			k, err := st.DKIMKey(ctx, "acme.test")
			if err != nil {
				t.Fatal(err)
			}
			name, value, err := DKIMRecord(k)
			if err != nil {
				t.Fatal(err)
			}
			if name != sel+"._domainkey.acme.test." {
				t.Errorf("record name %q", name)
			}
			prefix := "v=DKIM1; k=" + algo + "; p="
			if !strings.HasPrefix(value, prefix) {
				t.Fatalf("record value %q", value)
			}
			p, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(value, prefix))
			if err != nil {
				t.Fatal(err)
			}

			// The signer's side: PKCS#8 from the store, as submission parses it.
			block, _ := pem.Decode(k.PrivateKeyPEM)
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			signer := key.(crypto.Signer)
			switch algo {
			case "rsa":
				rk := key.(*rsa.PrivateKey)
				if rk.N.BitLen() != 2048 {
					t.Errorf("RSA key of %d bits", rk.N.BitLen())
				}
				pub, err := x509.ParsePKIXPublicKey(p)
				if err != nil || !rk.PublicKey.Equal(pub) {
					t.Errorf("p= is not the SubjectPublicKeyInfo of the key: %v", err)
				}
			case "ed25519":
				if !bytes.Equal(p, key.(ed25519.PrivateKey).Public().(ed25519.PublicKey)) || len(p) != 32 {
					t.Errorf("p= is not the raw 32-byte Ed25519 key (RFC 8463)")
				}
			}

			line := DKIMZoneLine(name, value)
			gotName, gotValue := txtFromZoneLine(t, line)
			if gotName != name || gotValue != value {
				t.Fatalf("zone line %q reads back as %q %q", line, gotName, gotValue)
			}
			if algo == "rsa" && strings.Count(line, `"`) < 4 {
				t.Errorf("a %d-octet RSA record should be split: %s", len(value), line)
			}

			msg := "From: alice@acme.test\r\nTo: bob@remote.test\r\nSubject: hi\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@acme.test>\r\n\r\nHello.\r\n"
			var signed bytes.Buffer
			err = dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{
				Domain: "acme.test", Selector: k.Selector, Signer: signer,
				HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
			})
			if err != nil {
				t.Fatal(err)
			}
			lookups := 0
			verifs, err := dkim.VerifyWithOptions(bytes.NewReader(signed.Bytes()), &dkim.VerifyOptions{
				LookupTXT: func(domain string) ([]string, error) {
					lookups++
					if domain+"." != gotName {
						return nil, errors.New("NXDOMAIN " + domain)
					}
					return []string{gotValue}, nil
				},
			})
			if err != nil || len(verifs) != 1 || lookups != 1 {
				t.Fatalf("verify: %v, %d verifications, %d lookups", err, len(verifs), lookups)
			}
			if verifs[0].Err != nil || verifs[0].Domain != "acme.test" {
				t.Fatalf("signature does not verify against the printed record: %+v", verifs[0])
			}

			info, err := NewDKIMInfo(k)
			if err != nil || info.RecordName != name || info.Record != value || info.Selector != sel {
				t.Errorf("NewDKIMInfo = %+v, %v", info, err)
			}
		})
	}
}
