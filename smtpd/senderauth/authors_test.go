package senderauth

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
)

func readHeader(t *testing.T, s string) textproto.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(s)))
	if err != nil {
		t.Fatalf("read header %q: %v", s, err)
	}
	return h
}

func TestAuthor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hdr, domain, err string
	}{
		{"From: CEO <ceo@Bank.EXAMPLE>\r\n\r\n", "bank.example", ""},
		{"From: =?utf-8?q?J=C3=B6rg?= <j@b\xc3\xbccher.example>\r\n\r\n", "xn--bcher-kva.example", ""},
		{"From: ceo@bank.example\r\nFrom: ceo@bank.example\r\n\r\n", "", "2 From: fields"},
		{"From: CEO <ceo@bank.example>\r\nfrom: Evil <x@evil.example>\r\n\r\n", "", "2 From: fields"},
		{"Subject: no author\r\n\r\n", "", "no From: field"},
		{"From: \r\n\r\n", "", "names no address"},
		{"From: undisclosed-recipients:;\r\n\r\n", "", "names no address"},
		{"From: a@bank.example, b@evil.example\r\n\r\n", "", "more than one address"},
		{"From: a@bank.example, b@bank.example\r\n\r\n", "", "more than one address"},
		{"From: not an address\r\n\r\n", "", "does not parse"},
		{"From: <ceo@>\r\n\r\n", "", "does not parse"},
		{"From: ceo@[192.0.2.1]\r\n\r\n", "", "no usable domain"},
		{"From: ceo@localhost\r\n\r\n", "", "no usable domain"},
		{"From: ceo@com\r\n\r\n", "", "no usable domain"},
		{"From: ceo@192.0.2.1\r\n\r\n", "", "no usable domain"},
		{"From: ceo@bad_name.example\r\n\r\n", "", "no usable domain"},
		{"From: ceo@a..example\r\n\r\n", "", ""}, // rejected by the address parser or as unusable
	} {
		a, err := ParseAuthors(readHeader(t, tc.hdr))
		var d string
		if err == nil {
			_, d, err = a.Author()
		}
		if tc.err == "" && tc.domain == "" {
			if err == nil {
				t.Errorf("%q: domain %q, want an error", tc.hdr, d)
			}
			continue
		}
		if tc.err == "" {
			if err != nil || d != tc.domain {
				t.Errorf("%q: %q, %v; want %q", tc.hdr, d, err, tc.domain)
			}
			continue
		}
		var ae *AuthorError
		if !errors.As(err, &ae) || !strings.Contains(ae.Reason, tc.err) {
			t.Errorf("%q: err %v, want an AuthorError with %q", tc.hdr, err, tc.err)
		}
		if ae != nil && strings.ContainsAny(ae.Reason, "\r\n") {
			t.Errorf("%q: reason %q has a line break", tc.hdr, ae.Reason)
		}
	}
}

func TestParseAuthorsFields(t *testing.T) {
	t.Parallel()
	a, err := ParseAuthors(readHeader(t, "From: a@x.example, b@x.example\r\nSender: s@x.example\r\n"+
		"Resent-From: r1@y.example\r\nResent-Sender: rs@y.example\r\nResent-From: r2@z.example\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.FromFields != 1 || len(a.From) != 2 || a.SenderFields != 1 || len(a.Sender) != 1 ||
		len(a.ResentFrom) != 2 || len(a.ResentSender) != 1 || a.ResentFrom[1].Address != "r2@z.example" {
		t.Errorf("authors = %+v", a)
	}
	if _, err := ParseAuthors(readHeader(t, "From: a@x.example\r\nSender: <broken\r\n\r\n")); err == nil || !strings.Contains(err.Error(), "Sender:") {
		t.Errorf("broken Sender: err = %v", err)
	}
	many := "From: " + strings.Repeat("a@x.example, ", maxAuthorAddresses) + "a@x.example\r\n\r\n"
	if _, err := ParseAuthors(readHeader(t, many)); err == nil {
		t.Errorf("%d From addresses accepted", maxAuthorAddresses+1)
	}
}

// nxResolver answers NXDOMAIN to everything.
type nxResolver struct{}

func nx(name string) error                                                 { return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true} }
func (nxResolver) LookupTXT(_ context.Context, n string) ([]string, error) { return nil, nx(n) }
func (nxResolver) LookupMX(_ context.Context, n string) ([]*net.MX, error) { return nil, nx(n) }
func (nxResolver) LookupIPAddr(_ context.Context, n string) ([]net.IPAddr, error) {
	return nil, nx(n)
}
func (nxResolver) LookupAddr(_ context.Context, n string) ([]string, error) { return nil, nx(n) }

// TestCheckAuthorFailure: a message without one usable author fails
// DMARC and is refused whatever the configured DMARC actions, instead of
// the permerror that let it through.
func TestCheckAuthorFailure(t *testing.T) {
	t.Parallel()
	c := New(Options{AuthservID: "mx.test", Resolver: nxResolver{}, DMARCReject: Accept, DMARCQuarantine: Accept})
	in := Input{IP: netip.MustParseAddr("192.0.2.1"), Helo: "client.example", MailFrom: "ceo@bank.example"}
	for _, msg := range []string{
		"From: CEO <ceo@bank.example>\r\nFrom: x@evil.example\r\n\r\nbody\r\n",
		"Subject: none\r\n\r\nbody\r\n",
		"From: a@bank.example, b@evil.example\r\n\r\nbody\r\n",
		"From: nonsense\r\n\r\nbody\r\n",
		"From: ceo@localhost\r\n\r\nbody\r\n",
	} {
		v, err := c.Check(context.Background(), in, strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		if v.DMARC != authres.ResultFail || v.Action != Reject || !strings.HasPrefix(v.Reason, "Message refused: ") {
			t.Errorf("%q: dmarc=%s action=%s reason=%q; want fail, reject", msg, v.DMARC, v.Action, v.Reason)
		}
		if !strings.Contains(v.Header, "dmarc=fail") {
			t.Errorf("%q: header %q", msg, v.Header)
		}
	}
	v, err := c.Check(context.Background(), in, strings.NewReader("From: CEO <ceo@bank.example>\r\n\r\nbody\r\n"))
	if err != nil || v.DMARC != authres.ResultNone || v.Action != Accept || v.FromDomain != "bank.example" {
		t.Errorf("one From: %+v, %v", v, err)
	}
}
