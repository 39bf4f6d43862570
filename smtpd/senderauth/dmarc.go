package senderauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// dmarcOutcome is the DMARC result and the action it asks for.
type dmarcOutcome struct {
	result *authres.DMARCResult
	action Action
	reason string
}

// evalDMARC applies RFC 7489 §6.6: find the policy of the From: domain
// (or of its organisational domain), then pass if SPF or DKIM passed for
// an aligned domain.
func (c *Checker) evalDMARC(ctx context.Context, from string, fromErr error, in Input, spfRes *authres.SPFResult, dkims []*authres.DKIMResult) dmarcOutcome {
	res := &authres.DMARCResult{From: from}
	out := dmarcOutcome{result: res, action: Accept}
	if fromErr != nil {
		// RFC 7489 §6.6.1: no single usable From: domain to evaluate.
		// That is a failure, not a pass: several From fields, several
		// authors or none would otherwise carry a forged author past
		// every policy. Refused whatever DMARCReject says, since no
		// domain's policy applies.
		reason := "no usable From: domain"
		var ae *AuthorError
		if errors.As(fromErr, &ae) {
			reason = ae.Reason
		}
		res.Value, res.Reason = authres.ResultFail, reason
		out.action, out.reason = Reject, "Message refused: "+reason
		return out
	}
	rec, sub, err := c.lookupDMARC(ctx, from)
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		res.Value = authres.ResultNone
		return out
	case dmarc.IsTempFail(err):
		res.Value, res.Reason = authres.ResultTempError, "DMARC record lookup failed"
		out.action, out.reason = c.opts.TempError, "Temporary DNS failure looking up the DMARC policy of "+from
		return out
	case err != nil:
		res.Value, res.Reason = authres.ResultPermError, err.Error()
		return out
	}

	spfDomain := domainOf(spfRes.From)
	if spfRes.From == "" {
		spfDomain = strings.ToLower(spfRes.Helo)
	}
	if spfRes.Value == authres.ResultPass && aligned(spfDomain, from, rec.SPFAlignment) {
		res.Value = authres.ResultPass
		return out
	}
	tempErr := spfRes.Value == authres.ResultTempError
	for _, d := range dkims {
		if !aligned(d.Domain, from, rec.DKIMAlignment) {
			continue
		}
		if d.Value == authres.ResultPass {
			res.Value = authres.ResultPass
			return out
		}
		tempErr = tempErr || d.Value == authres.ResultTempError
	}

	policy := rec.Policy
	if sub && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy
	}
	// pct (RFC 7489 §6.6.4): outside the sample, apply the next weaker
	// policy.
	if rec.Percent != nil && *rec.Percent < 100 && rand.IntN(100) >= *rec.Percent {
		switch policy {
		case dmarc.PolicyReject:
			policy = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			policy = dmarc.PolicyNone
		}
	}
	if tempErr && policy != dmarc.PolicyNone {
		// It might have passed: let the sender try again.
		res.Value, res.Reason = authres.ResultTempError, "SPF or DKIM lookup failed"
		out.action, out.reason = c.opts.TempError, "Temporary DNS failure checking the sender domain "+from
		return out
	}
	res.Value = authres.ResultFail
	res.Reason = "p=" + string(policy)
	switch policy {
	case dmarc.PolicyReject:
		out.action = c.opts.DMARCReject
	case dmarc.PolicyQuarantine:
		out.action = c.opts.DMARCQuarantine
	}
	out.reason = fmt.Sprintf("Message rejected: DMARC policy of %s", from)
	return out
}

// lookupDMARC finds the policy for domain: its own record, else its
// organisational domain's (sub reports the latter, where sp= applies).
func (c *Checker) lookupDMARC(ctx context.Context, domain string) (rec *dmarc.Record, sub bool, err error) {
	opts := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) {
		txts, err := c.opts.Resolver.LookupTXT(ctx, name)
		var de *net.DNSError
		if errors.As(err, &de) && !de.IsNotFound && !de.IsTemporary && !de.IsTimeout {
			// Any other DNS trouble is worth a retry too.
			de.IsTemporary = true
		}
		return txts, err
	}}
	rec, err = dmarc.LookupWithOptions(domain, opts)
	if !errors.Is(err, dmarc.ErrNoPolicy) {
		return rec, false, err
	}
	org := orgDomain(domain)
	if org == domain {
		return nil, false, err
	}
	rec, err = dmarc.LookupWithOptions(org, opts)
	return rec, true, err
}

// orgDomain is the organisational domain (RFC 7489 §3.2): one label
// below the public suffix.
func orgDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// aligned reports identifier alignment (RFC 7489 §3.1): equal domains in
// strict mode, equal organisational domains in relaxed mode.
func aligned(id, from string, mode dmarc.AlignmentMode) bool {
	id = strings.ToLower(strings.TrimSuffix(id, "."))
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	if id == "" || from == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return id == from
	}
	return orgDomain(id) == orgDomain(from)
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}
