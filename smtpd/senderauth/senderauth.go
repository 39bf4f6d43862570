// Package senderauth judges the sender of an inbound message the way large
// receivers do: SPF (RFC 7208) on the MAIL FROM or HELO identity, every
// DKIM signature (RFC 6376), and DMARC (RFC 7489) with identifier
// alignment against the organisational domain, summed up in one
// Authentication-Results header field (RFC 8601). It also looks client
// addresses up in DNS blocklists (RFC 5782).
//
// It holds no state between calls; all DNS goes through the Resolver of
// its Options, so tests use a fake one and maild the configured
// dns.resolver.
package senderauth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// Resolver is the DNS the checks need. *net.Resolver implements it.
// Errors follow *net.DNSError: IsNotFound for NXDOMAIN/NODATA,
// IsTemporary for SERVFAIL and timeouts.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Action is what to do with a message after the checks.
type Action string

const (
	// Accept delivers the message normally (to INBOX).
	Accept Action = "accept"
	// Junk delivers the message to the recipient's Junk folder.
	Junk Action = "junk"
	// Reject refuses the message with 550 5.7.1.
	Reject Action = "reject"
	// Defer refuses the message with a temporary 451: the sender retries.
	Defer Action = "defer"
)

// Options configure a Checker.
type Options struct {
	// AuthservID names us in Authentication-Results: our hostname.
	AuthservID string
	// Resolver answers every DNS query. Default: net.DefaultResolver.
	Resolver Resolver
	// DMARCReject is the action for a DMARC failure under p=reject
	// (default Reject); DMARCQuarantine under p=quarantine (default
	// Junk).
	DMARCReject, DMARCQuarantine Action
	// TempError is the action when a DNS failure left DMARC undecided
	// for a domain that publishes a policy (default Defer).
	TempError Action
	// MaxSignatures bounds the DKIM signatures verified per message
	// (default 5).
	MaxSignatures int
}

// Checker runs the sender checks. Safe for concurrent use.
type Checker struct {
	opts Options
}

// New returns a Checker.
func New(opts Options) *Checker {
	if opts.AuthservID == "" {
		opts.AuthservID = "localhost"
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.DMARCReject == "" {
		opts.DMARCReject = Reject
	}
	if opts.DMARCQuarantine == "" {
		opts.DMARCQuarantine = Junk
	}
	if opts.TempError == "" {
		opts.TempError = Defer
	}
	if opts.MaxSignatures <= 0 {
		opts.MaxSignatures = 5
	}
	return &Checker{opts: opts}
}

// Input is what the session knows about the sender.
type Input struct {
	IP       netip.Addr
	Helo     string
	MailFrom string // "" for the null sender
}

// Verdict is the outcome of the checks.
type Verdict struct {
	// Header is the complete Authentication-Results field, folded, with
	// its CRLF.
	Header string
	// Action is what the policy asks for; Reason explains it in a form
	// fit for an SMTP reply.
	Action Action
	Reason string
	// SPF, DKIM and DMARC are the result values, for the log.
	SPF, DKIM, DMARC authres.ResultValue
	// FromDomain is the RFC5322.From domain ("" when there is none).
	FromDomain string
}

// Check runs SPF, DKIM and DMARC for a message. msg is read from its
// start (twice); it must hold the message as received.
func (c *Checker) Check(ctx context.Context, in Input, msg io.ReadSeeker) (Verdict, error) {
	spfDone := make(chan *authres.SPFResult, 1)
	go func() { spfDone <- c.checkSPF(ctx, in) }()

	if _, err := msg.Seek(0, io.SeekStart); err != nil {
		return Verdict{}, err
	}
	fromDomain, fromErr := headerFromDomain(msg)
	if _, err := msg.Seek(0, io.SeekStart); err != nil {
		return Verdict{}, err
	}
	dkims, err := c.checkDKIM(ctx, msg)
	if err != nil {
		return Verdict{}, err
	}
	spfRes := <-spfDone

	results := []authres.Result{spfRes}
	v := Verdict{Action: Accept, SPF: spfRes.Value, DKIM: authres.ResultNone, FromDomain: fromDomain}
	if len(dkims) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, d := range dkims {
		results = append(results, d)
		if v.DKIM != authres.ResultPass {
			v.DKIM = d.Value
		}
	}
	dm := c.evalDMARC(ctx, fromDomain, fromErr, in, spfRes, dkims)
	results = append(results, dm.result)
	v.DMARC = dm.result.Value
	v.Action, v.Reason = dm.action, dm.reason
	v.Header = fold("Authentication-Results: " + authres.Format(c.opts.AuthservID, results))
	return v, nil
}

// checkSPF evaluates SPF for the MAIL FROM domain, or for the HELO name
// when the reverse path is null (RFC 7208 §2.4).
func (c *Checker) checkSPF(ctx context.Context, in Input) *authres.SPFResult {
	res := &authres.SPFResult{}
	helo := strings.TrimSuffix(in.Helo, ".")
	if in.MailFrom != "" {
		res.From = in.MailFrom
	} else {
		res.Helo = helo
	}
	if in.MailFrom == "" && (helo == "" || net.ParseIP(strings.Trim(helo, "[]")) != nil) {
		res.Value = authres.ResultNone
		return res
	}
	r, err := spf.CheckHostWithSender(net.IP(in.IP.AsSlice()), helo, in.MailFrom,
		spf.WithResolver(c.opts.Resolver), spf.WithContext(ctx))
	res.Value = authres.ResultValue(strings.ToLower(string(r)))
	if err != nil && (r == spf.TempError || r == spf.PermError) {
		res.Reason = err.Error()
	}
	return res
}

// checkDKIM verifies every signature (up to MaxSignatures).
func (c *Checker) checkDKIM(ctx context.Context, msg io.Reader) ([]*authres.DKIMResult, error) {
	verifs, err := dkim.VerifyWithOptions(bufio.NewReaderSize(msg, 64<<10), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return c.opts.Resolver.LookupTXT(ctx, name) },
		MaxVerifications: c.opts.MaxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// A header DKIM cannot read: treat it as unsigned.
		return nil, nil
	}
	var out []*authres.DKIMResult
	for _, v := range verifs {
		r := &authres.DKIMResult{Domain: v.Domain, Identifier: v.Identifier, Value: authres.ResultPass}
		switch {
		case v.Err == nil:
		case dkim.IsTempFail(v.Err):
			r.Value, r.Reason = authres.ResultTempError, v.Err.Error()
		case dkim.IsPermFail(v.Err):
			r.Value, r.Reason = authres.ResultPermError, v.Err.Error()
		default:
			r.Value, r.Reason = authres.ResultFail, v.Err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}

// headerFromDomain returns the domain of the message's one author (see
// Authors.Author); the error is an *AuthorError.
func headerFromDomain(r io.Reader) (string, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(r))
	if err != nil {
		return "", &AuthorError{Reason: "Message header does not parse", Err: err}
	}
	a, err := ParseAuthors(h)
	if err != nil {
		return "", err
	}
	_, d, err := a.Author()
	return d, err
}

// fold breaks an Authentication-Results field after each ";" so it
// stays readable and within line limits.
func fold(field string) string {
	// authres leaves a space after a result without parameters.
	field = strings.TrimSpace(strings.ReplaceAll(field, " ;", ";"))
	return strings.ReplaceAll(field, "; ", ";\r\n\t") + "\r\n"
}

// IsOurs reports whether an Authentication-Results value claims to come
// from authservID; such fields arriving from outside are forgeries
// (RFC 8601 §5) and must be removed.
func IsOurs(value, authservID string) bool {
	// RFC 8601 §2.2 allows comments before the authserv-id; authres does
	// not, and a forged field must not slip past on that.
	value = stripLeadingComments(value)
	id, _, err := authres.Parse(value)
	if err != nil {
		// Unparseable results: judge by the first token.
		id = strings.TrimSpace(value)
		if i := strings.IndexAny(id, "; \t\r\n"); i >= 0 {
			id = id[:i]
		}
	}
	return strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(id), "."), strings.TrimSuffix(authservID, "."))
}

// stripLeadingComments removes white space and (possibly nested, quoted-
// pair aware) comments from the start of a header value.
func stripLeadingComments(v string) string {
	for {
		v = strings.TrimLeft(v, " \t\r\n")
		if !strings.HasPrefix(v, "(") {
			return v
		}
		depth, i := 0, 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= len(v) {
			return "" // an unterminated comment: nothing left
		}
		v = v[i+1:]
	}
}
