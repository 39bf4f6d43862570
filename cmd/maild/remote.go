package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"yubin/admin/config"
	"yubin/delivery"
)

// newRemote builds the remote deliverer from [delivery] and [dns]. It
// cannot fail: the smarthost password file is read at each connection, so
// a missing file shows as deferred mail with a clear error.
func newRemote(cfg config.Config, rewriteSender func(string) string, log *slog.Logger) *delivery.Remote {
	d := cfg.Delivery
	return delivery.NewRemote(delivery.RemoteOptions{
		RewriteSender:            rewriteSender,
		Hostname:                 cfg.Hostname,
		Resolver:                 newResolver(cfg.DNS),
		Port:                     d.RemotePort,
		MaxConnectionsPerDomain:  d.MaxConnectionsPerDomain,
		MaxMessagesPerConnection: d.MaxMessagesPerConnection,
		RateLimits:               d.RateLimits,
		Smarthost: delivery.Smarthost{
			Addr:         d.Smarthost,
			TLS:          d.SmarthostTLS,
			Username:     d.SmarthostUsername,
			PasswordFile: d.SmarthostPasswordFile,
			Domains:      d.SmarthostDomains,
		},
		// MTA-STS (RFC 8461) for recipient domains that publish a
		// policy: always on; the TXT lookup uses the [dns] resolver.
		MTASTS: &delivery.MTASTS{},
		Logger: log,
	})
}

// newResolver returns the system resolver, or one that sends every query
// to dns.resolver (UDP, and TCP for truncated answers) when it is set.
func newResolver(c config.DNS) *net.Resolver {
	if c.Resolver == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialContext(ctx, network, c.Resolver)
		},
	}
}
