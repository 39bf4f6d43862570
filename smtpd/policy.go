package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"

	"yubin/delivery"
	"yubin/storage"
)

// State is what a Policy knows about the session asking it.
type State struct {
	ConnID   string
	Remote   netip.AddrPort
	Helo     string
	TLS      bool
	AuthUser string
	// MailFrom is the reverse path of the current transaction ("" for
	// the null sender) once MAIL was accepted: Rcpt sees it.
	MailFrom string
}

// Policy decides what a session may send. The MX policy accepts mail for
// local recipients from anyone; submission plugs in its own.
// Errors are *delivery.Error; anything else becomes a temporary failure.
type Policy interface {
	Mail(ctx context.Context, s *State, from string) error
	Rcpt(ctx context.Context, s *State, to string) error
}

// MessagePolicy is an optional Policy extension that sees each message
// before it is queued: it may refuse it or return a rewritten stream
// (added headers, a DKIM signature). The returned reader is closed after
// the message is queued or refused.
type MessagePolicy interface {
	Message(ctx context.Context, s *State, env *delivery.Envelope, msg io.Reader) (io.ReadCloser, error)
}

// RecipientResolver finds where mail for an address goes; *storage.Store
// implements it.
type RecipientResolver interface {
	Resolve(ctx context.Context, addr string) ([]storage.Target, error)
}

// MXPolicy is the port 25 policy: anyone may send, but only to existing
// local recipients. There is no relaying on port 25, ever.
type MXPolicy struct {
	Recipients RecipientResolver
	// Sender, when set, checks SPF, DKIM and DMARC of every message
	// (see Message). Nil accepts messages unchecked.
	Sender SenderChecker
	// Hostname is our authserv-id: incoming Authentication-Results
	// fields that claim it are removed.
	Hostname string
	// Trusted clients get the checks and the header, but no rejection
	// or quarantine.
	Trusted []netip.Prefix
	// TempDir holds messages while they are checked ("" = os.TempDir()).
	TempDir string
	// Logger gets one "sender checks" line per message.
	Logger *slog.Logger
	// Quotas, when set, refuses a recipient whose mailbox is already
	// full at RCPT time (452 4.2.2); *storage.Store implements it.
	Quotas QuotaChecker
	// Filters scan every message (virus, spam) after the sender checks
	// and before the 250; nil runs none.
	Filters *delivery.FilterChain
	// SRS, when set, accepts bounces to valid SRS0 addresses of its
	// domain (forwarded mail coming back) and refuses forged or expired
	// ones with 550 5.1.1.
	SRS *delivery.SRS
}

// Mail accepts any reverse path go-smtp could parse, including the null
// sender (bounces must get through).
func (p MXPolicy) Mail(ctx context.Context, s *State, from string) error { return nil }

// Rcpt accepts local users, aliases and catch-alls.
func (p MXPolicy) Rcpt(ctx context.Context, s *State, to string) error {
	if _, err := storage.ParseAddress(to); err != nil {
		return &delivery.Error{Code: 501, Enhanced: [3]int{5, 1, 3}, Public: "Bad recipient address syntax", Err: err}
	}
	if p.SRS != nil && p.SRS.IsSRS(to) {
		if _, err := p.SRS.Reverse(to); err != nil {
			return &delivery.Error{Code: 550, Enhanced: [3]int{5, 1, 1}, Public: "Invalid or expired SRS address", Err: err}
		}
		// An SRS address only takes bounces of mail we forwarded (RFC
		// 3464 DSNs and the like, sent from the null reverse path, RFC
		// 5321 §4.5.5); anything else would be relayed on to the
		// original sender, an open relay to every address we ever
		// forwarded for.
		if s.MailFrom != "" {
			return &delivery.Error{Code: 550, Enhanced: [3]int{5, 7, 1}, Public: "SRS addresses accept only bounces (MAIL FROM:<>)", Err: fmt.Errorf("srs rcpt from %q", s.MailFrom)}
		}
		return nil
	}
	targets, err := p.Recipients.Resolve(ctx, to)
	switch {
	case err == nil:
		return p.checkQuota(ctx, targets)
	case errors.Is(err, storage.ErrNotLocalDomain):
		return &delivery.Error{Code: 554, Enhanced: [3]int{5, 7, 1}, Public: "Relay access denied", Err: err}
	case errors.Is(err, storage.ErrNoSuchUser):
		return &delivery.Error{Code: 550, Enhanced: [3]int{5, 1, 1}, Public: "No such user here", Err: err}
	default:
		return delivery.AsError(err)
	}
}
