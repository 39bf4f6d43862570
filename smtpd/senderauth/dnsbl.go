package senderauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DNSBL looks client addresses up in DNS blocklists (RFC 5782).
type DNSBL struct {
	// Zones are the lists to ask, e.g. "zen.spamhaus.org".
	Zones []string
	// Allow lists addresses and networks that are never looked up.
	Allow []netip.Prefix
	// Resolver answers the queries. Default: net.DefaultResolver.
	Resolver Resolver
}

// Listing is a positive DNSBL answer.
type Listing struct {
	Zone   string
	Code   netip.Addr // the 127.0.0.x answer
	Reason string     // the list's TXT record, if any
}

// Check returns the first list that names ip, or nil. Lookup failures
// count as not listed (fail open): a broken list must not stop mail.
func (b *DNSBL) Check(ctx context.Context, ip netip.Addr) (*Listing, error) {
	ip = ip.Unmap()
	if len(b.Zones) == 0 || !ip.IsValid() || b.Allowed(ip) {
		return nil, nil
	}
	r := b.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	rev := reverse(ip)
	var errs []error
	for _, zone := range b.Zones {
		name := rev + "." + strings.TrimSuffix(zone, ".") + "."
		addrs, err := r.LookupIPAddr(ctx, name)
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				errs = append(errs, fmt.Errorf("dnsbl %s: %w", zone, err))
			}
			continue
		}
		for _, a := range addrs {
			code, ok := netip.AddrFromSlice(a.IP)
			code = code.Unmap()
			// RFC 5782 §2.1: answers are in 127.0.0.0/8; anything else
			// (e.g. 127.255.255.x "query refused" or a hijacked NXDOMAIN)
			// is not a listing.
			if !ok || !code.Is4() || code.As4()[0] != 127 || code.As4()[1] == 255 {
				continue
			}
			l := &Listing{Zone: zone, Code: code}
			if txts, err := r.LookupTXT(ctx, name); err == nil && len(txts) > 0 {
				l.Reason = sanitize(strings.Join(txts, " "))
			}
			return l, nil
		}
	}
	return nil, errors.Join(errs...)
}

// Allowed reports whether ip is on the allowlist.
func (b *DNSBL) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range b.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// reverse returns the DNSBL query label of ip: reversed octets for IPv4,
// reversed nibbles for IPv6.
func reverse(ip netip.Addr) string {
	if ip.Is4() {
		a := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", a[3], a[2], a[1], a[0])
	}
	a := ip.As16()
	var b strings.Builder
	for i := len(a) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", a[i]&0xf, a[i]>>4)
	}
	return strings.TrimSuffix(b.String(), ".")
}

// sanitize keeps a list's text printable and short enough for a reply.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= ' ' && r < 0x7f {
			b.WriteRune(r)
		}
		if b.Len() >= 200 {
			break
		}
	}
	return b.String()
}
