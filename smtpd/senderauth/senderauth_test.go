package senderauth

import (
	"net/netip"
	"testing"

	"github.com/emersion/go-msgauth/dmarc"
)

func TestAlignment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id, from string
		mode     dmarc.AlignmentMode
		want     bool
	}{
		{"example.com", "example.com", dmarc.AlignmentStrict, true},
		{"mail.example.com", "example.com", dmarc.AlignmentStrict, false},
		{"mail.example.com", "example.com", dmarc.AlignmentRelaxed, true},
		{"bounce.example.co.uk", "news.example.co.uk", dmarc.AlignmentRelaxed, true},
		{"example.co.uk", "other.co.uk", dmarc.AlignmentRelaxed, false},
		{"Example.COM.", "example.com", dmarc.AlignmentStrict, true},
		{"", "example.com", dmarc.AlignmentRelaxed, false},
	} {
		if got := aligned(tc.id, tc.from, tc.mode); got != tc.want {
			t.Errorf("aligned(%q, %q, %q) = %v", tc.id, tc.from, tc.mode, got)
		}
	}
}

func TestReverse(t *testing.T) {
	t.Parallel()
	if got := reverse(netip.MustParseAddr("192.0.2.99")); got != "99.2.0.192" {
		t.Errorf("v4: %q", got)
	}
	if got := reverse(netip.MustParseAddr("2001:db8::1")); got != "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2" {
		t.Errorf("v6: %q", got)
	}
}

func TestIsOurs(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"mx.example.com; spf=pass smtp.mailfrom=a@b":  true,
		"MX.Example.com; none":                        true,
		"mx.example.com 1; dkim=pass header.d=x":      true,
		"other.example; spf=pass smtp.mailfrom=a@b":   false,
		"mx.example.com.evil; spf=pass":               false,
		"mx.example.com;;; garbage that is not valid": true,
	} {
		if got := IsOurs(v, "mx.example.com"); got != want {
			t.Errorf("IsOurs(%q) = %v", v, got)
		}
	}
}
