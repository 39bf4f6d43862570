package storage

import "net/netip"

// ClientKey groups client addresses for per-client limits: an IPv4
// address stands for itself, an IPv6 address for its /64, the smallest
// subnet one customer is usually given (so hopping through a /64 does not
// reset a limit).
func ClientKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
