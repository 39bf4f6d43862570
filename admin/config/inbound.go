package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// SenderAuth is the [senderauth] section: SPF, DKIM and DMARC checks of
// inbound mail on the MX listener.
type SenderAuth struct {
	// Enabled runs the checks and adds an Authentication-Results header
	// to every inbound message. Default: true (false with --dev).
	Enabled bool `toml:"enabled"`

	// DMARCReject is what happens to a message failing DMARC whose
	// domain publishes p=reject: "reject" (550 5.7.1), "junk" (deliver
	// to the Junk folder) or "accept". Default: "reject".
	DMARCReject string `toml:"dmarc_reject"`

	// DMARCQuarantine is the same for p=quarantine. Default: "junk".
	DMARCQuarantine string `toml:"dmarc_quarantine"`

	// TempError is what happens when a DNS failure leaves DMARC
	// undecided for a domain with a policy: "defer" (451, the sender
	// retries) or "accept". Default: "defer".
	TempError string `toml:"temperror"`

	// Trusted lists IP addresses or networks (e.g. "192.0.2.0/24") whose
	// mail is checked and labelled but never refused or sent to Junk by
	// these checks, nor looked up in DNSBLs. Default: [].
	Trusted []string `toml:"trusted"`
}

// DNSBL is the [dnsbl] section: DNS blocklists asked about every client
// of the MX listener before the greeting.
type DNSBL struct {
	// Zones are the lists to query, e.g. ["zen.spamhaus.org"]. Listed
	// clients get "554 5.7.1 ... blocked using ZONE". Spamhaus refuses
	// queries that come through public resolvers: use a local resolver
	// (dns.resolver). Default: [] (none).
	Zones []string `toml:"zones"`
}

// validateInbound checks [senderauth] and [dnsbl].
func (c Config) validateInbound(bad func(key, format string, args ...any)) {
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "unknown value %q (want %s)", v, strings.Join(allowed, ", "))
	}
	oneOf("senderauth.dmarc_reject", c.SenderAuth.DMARCReject, "reject", "junk", "accept")
	oneOf("senderauth.dmarc_quarantine", c.SenderAuth.DMARCQuarantine, "reject", "junk", "accept")
	oneOf("senderauth.temperror", c.SenderAuth.TempError, "defer", "accept")
	if _, err := ParsePrefixes(c.SenderAuth.Trusted); err != nil {
		bad("senderauth.trusted", "%v", err)
	}
	for _, z := range c.DNSBL.Zones {
		if err := validDNSName(strings.TrimSuffix(z, ".")); err != nil {
			bad("dnsbl.zones", "%q: %v", z, err)
		}
	}
	if c.SMTP.MaxErrors <= 0 {
		bad("smtp.max_errors", "must be > 0")
	}
	if c.Submission.MaxMessagesPerHour < 0 {
		bad("submission.max_messages_per_hour", "must be >= 0")
	}
}

// ParsePrefixes parses IP addresses ("192.0.2.1") and networks
// ("192.0.2.0/24", "2001:db8::/32").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or network", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
