package submission

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"yubin/delivery"
	"yubin/smtpd"
	"yubin/storage"
)

func testPolicy(t *testing.T) (*Policy, *storage.Store) {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, d := range []string{"acme.test", "shop.test"} {
		st.AddDomain(ctx, d)
	}
	for _, u := range []string{"amy@acme.test", "ben@acme.test"} {
		if _, err := st.AddUser(ctx, u, "pw", 0); err != nil {
			t.Fatal(err)
		}
	}
	st.AddAlias(ctx, "sales@acme.test", []string{"amy@acme.test", "ben@acme.test"})
	st.AddAlias(ctx, "@shop.test", []string{"amy@acme.test"})
	p, err := New(Options{Hostname: "mail.acme.test", Directory: st})
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func TestSenderOwnership(t *testing.T) {
	t.Parallel()
	p, _ := testPolicy(t)
	ctx := context.Background()
	amy := &smtpd.State{AuthUser: "amy@acme.test"}
	for _, tc := range []struct {
		from string
		code int
	}{
		{"amy@acme.test", 0},
		{"Amy@ACME.test", 0},
		{"amy+list@acme.test", 0},
		{"sales@acme.test", 0},    // alias that includes amy
		{"anything@shop.test", 0}, // catch-all to amy: a domain-wide grant
		{"ben@acme.test", 553},
		{"nobody@acme.test", 553},
		{"amy@elsewhere.example", 553},
		{"", 553},
	} {
		err := p.Mail(ctx, amy, tc.from)
		code := 0
		var de *delivery.Error
		if errors.As(err, &de) {
			code = de.Code
		} else if err != nil {
			t.Fatalf("Mail(%q): %v", tc.from, err)
		}
		if code != tc.code {
			t.Errorf("Mail(%q) = %d (%v), want %d", tc.from, code, err, tc.code)
		}
	}
	if err := p.Mail(ctx, &smtpd.State{}, "amy@acme.test"); err != errAuthRequired {
		t.Errorf("Mail without AUTH = %v", err)
	}
	if err := p.Rcpt(ctx, amy, "anyone@remote.example"); err != nil {
		t.Errorf("authenticated relay refused: %v", err)
	}
}

func TestMessageFixupAndDKIM(t *testing.T) {
	t.Parallel()
	p, st := testPolicy(t)
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	if err := st.SetDKIMKey(ctx, storage.DKIMKey{Domain: "acme.test", Selector: "s1", Algorithm: "ed25519", PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}); err != nil {
		t.Fatal(err)
	}
	in := "From: Amy <amy@acme.test>\r\nTo: x@remote.example\r\nSubject: hi\r\n\r\nbody line\r\n"
	rc, err := p.Message(ctx, &smtpd.State{AuthUser: "amy@acme.test"}, &delivery.Envelope{From: "amy@acme.test"}, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	s := string(out)
	if !strings.HasPrefix(s, "DKIM-Signature: ") || !strings.Contains(s, "Message-Id: <") || !strings.Contains(s, "Date: ") || !strings.HasSuffix(s, "\r\n\r\nbody line\r\n") {
		t.Fatalf("prepared message:\n%s", s)
	}
	// The signature verifies against the published key and covers From
	// twice (oversigned).
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(out), &dkim.VerifyOptions{LookupTXT: func(domain string) ([]string, error) {
		if domain != "s1._domainkey.acme.test" {
			return nil, errors.New("no such record")
		}
		return []string{record}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "acme.test" {
		t.Fatalf("verify: %v %+v", err, verifs)
	}
	if strings.Count(strings.ToLower(strings.Join(verifs[0].HeaderKeys, ":")), "from") != 2 {
		t.Errorf("From not oversigned: %v", verifs[0].HeaderKeys)
	}

	// A From: the user does not own is refused before anything is queued.
	_, err = p.Message(ctx, &smtpd.State{AuthUser: "amy@acme.test"}, &delivery.Envelope{From: "amy@acme.test"}, strings.NewReader("From: ben@acme.test\r\n\r\nx\r\n"))
	var de *delivery.Error
	if !errors.As(err, &de) || de.Code != 553 {
		t.Errorf("forged From: %v", err)
	}
}
