package submission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"yubin/delivery"
	"yubin/smtpd"
	"yubin/storage"
)

// Directory is what submission needs from storage; *storage.Store
// implements it.
type Directory interface {
	Resolve(ctx context.Context, addr string) ([]storage.Target, error)
	DKIMKey(ctx context.Context, domain string) (storage.DKIMKey, error)
}

// Options configure a Policy.
type Options struct {
	// Hostname names the server in Message-IDs it adds.
	Hostname string
	// Directory resolves sender addresses and finds DKIM keys. Required.
	Directory Directory
	// Queue takes messages submitted with Submit (sendmail).
	Queue smtpd.Enqueuer
	// TempDir holds messages while they are signed ("" = os.TempDir()).
	TempDir string
	// Logger gets signing events.
	Logger *slog.Logger
	// MaxMessagesPerHour bounds the messages one authenticated user may
	// submit per hour (0 = no limit); MAIL beyond it gets 451 4.7.1.
	MaxMessagesPerHour int
	// Now replaces the clock in tests.
	Now func() time.Time
	// Filters scan every submitted message before the 250; only those
	// marked OnSubmission run (virus scanning: authenticated mail is not
	// scored for spam). Nil runs none.
	Filters *delivery.FilterChain
}

// Policy is the submission policy. It implements smtpd.Policy and
// smtpd.MessagePolicy.
type Policy struct {
	opts  Options
	log   *slog.Logger
	rates *rateLimiter
}

var (
	_ smtpd.Policy        = (*Policy)(nil)
	_ smtpd.MessagePolicy = (*Policy)(nil)
)

// New returns the submission policy.
func New(opts Options) (*Policy, error) {
	if opts.Directory == nil {
		return nil, errors.New("submission: Options.Directory is required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Policy{opts: opts, log: opts.Logger, rates: newRateLimiter(opts.MaxMessagesPerHour, opts.Now)}, nil
}

var (
	errAuthRequired = &delivery.Error{Code: 530, Enhanced: [3]int{5, 7, 0}, Public: "Authentication required"}
	errNullSender   = &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1}, Public: "Submissions need a sender address"}
)

// Mail requires AUTH and a sender address the user owns.
func (p *Policy) Mail(ctx context.Context, s *smtpd.State, from string) error {
	if s.AuthUser == "" {
		return errAuthRequired
	}
	if from == "" {
		return errNullSender
	}
	if err := p.rates.check(s.AuthUser); err != nil {
		p.log.Warn("rejected", "user", s.AuthUser, "reason", "hourly message limit", "limit", p.opts.MaxMessagesPerHour)
		return err
	}
	return p.checkSender(ctx, s.AuthUser, from, "envelope sender")
}

// Rcpt accepts any well-formed address: an authenticated user may send
// anywhere; local and remote routing happens in the queue.
func (p *Policy) Rcpt(ctx context.Context, s *smtpd.State, to string) error {
	if s.AuthUser == "" {
		return errAuthRequired
	}
	if _, err := storage.ParseAddress(to); err != nil {
		return &delivery.Error{Code: 501, Enhanced: [3]int{5, 1, 3}, Public: "Bad recipient address syntax", Err: err}
	}
	return nil
}

// checkSender refuses an address the user may not send as.
func (p *Policy) checkSender(ctx context.Context, user, addr, what string) error {
	ok, err := p.owns(ctx, user, addr)
	if err != nil {
		return delivery.AsError(err)
	}
	if !ok {
		return &delivery.Error{Code: 553, Enhanced: [3]int{5, 7, 1}, Public: fmt.Sprintf("%s <%s> is not yours to use", capitalize(what), addr)}
	}
	return nil
}

// owns reports whether user may use addr: the address resolves (as mail to
// it would) to user's own mailbox.
func (p *Policy) owns(ctx context.Context, user, addr string) (bool, error) {
	a, err := storage.ParseAddress(addr)
	if err != nil {
		return false, nil
	}
	if a.String() == user {
		return true, nil
	}
	targets, err := p.opts.Directory.Resolve(ctx, a.String())
	if errors.Is(err, storage.ErrNoSuchUser) || errors.Is(err, storage.ErrNotLocalDomain) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(targets, func(t storage.Target) bool { return t.Local && t.Address.String() == user }), nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
