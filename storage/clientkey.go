package storage

import "net/netip"

// ClientKey is the key every per-client limit counts under: connection
// slots (SMTP, IMAP, POP3) and the login throttle. An IPv4 address is its
// own key; an IPv6 address is grouped by its /64, because one host or
// customer is normally given a whole /64 and can change the low 64 bits
// at will, so counting each /128 would let it multiply its allowance.
func ClientKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, err := a.WithZone("").Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}
