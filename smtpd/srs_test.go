package smtpd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"yubin/delivery"
)

func TestRcptSRS(t *testing.T) {
	s := &delivery.SRS{Key: []byte("0123456789abcdef0123456789abcdef"), Domain: "mx.acme.test"}
	p := MXPolicy{SRS: s} // Recipients is never reached for SRS addresses
	ctx := context.Background()
	good := s.Forward("carol@example.org")
	if err := p.Rcpt(ctx, &State{}, good); err != nil {
		t.Errorf("valid SRS refused: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, "carol", "mallory", 1),
		"SRS0=aaaaaa=aa=example.org=carol@mx.acme.test",
	} {
		err := p.Rcpt(ctx, &State{}, bad)
		var e *delivery.Error
		if !errors.As(err, &e) || e.Code != 550 || e.Enhanced != [3]int{5, 1, 1} {
			t.Errorf("Rcpt(%q) = %v, want 550 5.1.1", bad, err)
		}
	}
}

// TestRcptSRSOnlyBounces: a valid SRS address takes the null sender
// only; mail from anyone else would be relayed on to the original
// sender.
func TestRcptSRSOnlyBounces(t *testing.T) {
	t.Parallel()
	s := &delivery.SRS{Key: []byte("0123456789abcdef0123456789abcdef"), Domain: "mx.acme.test"}
	p := MXPolicy{SRS: s}
	good := s.Forward("carol@example.org")
	if err := p.Rcpt(context.Background(), &State{MailFrom: ""}, good); err != nil {
		t.Errorf("bounce to a valid SRS address refused: %v", err)
	}
	err := p.Rcpt(context.Background(), &State{MailFrom: "spammer@evil.example"}, good)
	var e *delivery.Error
	if !errors.As(err, &e) || e.Code != 550 || e.Enhanced != [3]int{5, 7, 1} || !strings.Contains(e.Public, "bounces") {
		t.Errorf("Rcpt from a real sender = %v, want 550 5.7.1", err)
	}
}
