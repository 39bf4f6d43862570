package submission

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"yubin/delivery"
	"yubin/smtpd"
)

// TestOriginatorFields: one From field, and only the user's own
// addresses in From, Sender, Resent-From and Resent-Sender. Only the
// first From used to be checked, so a second one naming someone else
// was DKIM-signed with the domain's key.
func TestOriginatorFields(t *testing.T) {
	t.Parallel()
	p, _ := testPolicy(t)
	ctx := context.Background()
	amy := &smtpd.State{AuthUser: "amy@acme.test"}
	for _, tc := range []struct {
		head   string
		code   int
		public string
	}{
		{"From: amy@acme.test\r\nFrom: Ben CEO <ben@acme.test>\r\n", 553, "Message has 2 From: fields"},
		{"From: amy@acme.test\r\nFrom: amy@acme.test\r\n", 553, "Message has 2 From: fields"},
		{"From: amy@acme.test, ben@acme.test\r\nSender: amy@acme.test\r\n", 553, "From: address <ben@acme.test>"},
		{"From: amy@acme.test\r\nSender: ben@acme.test\r\n", 553, "Sender: address <ben@acme.test>"},
		{"From: amy@acme.test\r\nSender: amy@acme.test\r\nSender: amy@acme.test\r\n", 553, "more than one Sender:"},
		{"From: amy@acme.test\r\nResent-From: ben@acme.test\r\n", 553, "Resent-From: address <ben@acme.test>"},
		{"From: amy@acme.test\r\nResent-From: amy@acme.test\r\nResent-Sender: x@remote.example\r\n", 553, "Resent-Sender: address <x@remote.example>"},
		{"From: amy@acme.test\r\nResent-From: <broken\r\n", 554, "Resent-From: field does not parse"},
		{"From: Sales <sales@acme.test>\r\nSender: amy@acme.test\r\nResent-From: x@shop.test\r\n", 0, ""},
		{"Subject: no from\r\n", 0, ""},
	} {
		rc, err := p.Message(ctx, amy, &delivery.Envelope{From: "amy@acme.test"}, strings.NewReader(tc.head+"\r\nbody\r\n"))
		if tc.code == 0 {
			if err != nil {
				t.Errorf("%q: %v", tc.head, err)
				continue
			}
			io.Copy(io.Discard, rc)
			rc.Close()
			continue
		}
		var de *delivery.Error
		if !errors.As(err, &de) || de.Code != tc.code || !strings.Contains(de.Public, tc.public) {
			t.Errorf("%q: %v, want %d %q", tc.head, err, tc.code, tc.public)
		}
		if tc.code == 553 && de != nil && de.Enhanced != [3]int{5, 7, 1} {
			t.Errorf("%q: enhanced %v, want 5.7.1", tc.head, de.Enhanced)
		}
	}
}
