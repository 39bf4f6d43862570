package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
)

// Resolver is the DNS the remote deliverer needs. *net.Resolver satisfies
// it; cmd/maild builds one that asks the configured [dns] resolver, and
// tests pass a map-backed fake.
//
// Errors follow *net.DNSError: IsNotFound for a name that does not exist
// or has no records of the type asked (NXDOMAIN, NODATA), IsTemporary or
// IsTimeout for a failure worth retrying (SERVFAIL, timeouts). Any other
// error is treated as temporary.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// mxHosts returns the hosts to try for domain, best first: its MX hosts in
// preference order, random among equal preferences (RFC 5321 §5.1), or
// the domain itself when it has no MX (the implicit MX). A null MX
// (RFC 7505) and a domain that does not exist fail permanently; DNS
// trouble fails temporarily.
func mxHosts(ctx context.Context, r Resolver, domain string) ([]string, *Error) {
	fqdn := strings.TrimSuffix(domain, ".") + "."
	mxs, err := r.LookupMX(ctx, fqdn)
	if err != nil && len(mxs) == 0 {
		if !dnsNotFound(err) {
			return nil, Temporaryf([3]int{4, 4, 3}, fmt.Sprintf("DNS lookup of MX records for %s failed", domain), err)
		}
		mxs = nil
	}
	if len(mxs) == 1 && mxs[0].Host == "." {
		return nil, &Error{Code: 556, Enhanced: [3]int{5, 1, 10}, Public: fmt.Sprintf("Domain %s accepts no mail (null MX)", domain)}
	}
	hosts := orderMX(mxs)
	if len(hosts) > 0 {
		return hosts, nil
	}
	// RFC 5321 §5.1: no MX records, so the domain itself is the host,
	// if it has an address at all.
	if _, err := r.LookupIPAddr(ctx, fqdn); err != nil {
		if dnsNotFound(err) {
			return nil, Permanentf([3]int{5, 1, 2}, fmt.Sprintf("Domain %s does not exist", domain), err)
		}
		return nil, Temporaryf([3]int{4, 4, 3}, fmt.Sprintf("DNS lookup of %s failed", domain), err)
	}
	return []string{fqdn}, nil
}

// orderMX sorts by preference and shuffles hosts of equal preference; a
// "." among real hosts is ignored.
func orderMX(mxs []*net.MX) []string {
	var valid []*net.MX
	for _, mx := range mxs {
		if mx != nil && mx.Host != "." && mx.Host != "" {
			valid = append(valid, mx)
		}
	}
	rand.Shuffle(len(valid), func(i, j int) { valid[i], valid[j] = valid[j], valid[i] })
	slices.SortStableFunc(valid, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	hosts := make([]string, len(valid))
	for i, mx := range valid {
		hosts[i] = mx.Host
	}
	return hosts
}

// dnsNotFound reports whether err says the name or record does not exist.
func dnsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// domainOf returns the lower-cased domain of an address.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}
