package main

import (
	"yubin/admin/config"
	"yubin/smtpd"
	"yubin/smtpd/senderauth"
	"yubin/storage"
)

// mxPolicy builds the port 25 policy from [senderauth] and [dnsbl]: the
// recipient checks, the SPF/DKIM/DMARC checks (when enabled) and the
// DNSBL blocklist (nil when no zone is configured). All DNS goes to
// dns.resolver when set.
func mxPolicy(cfg config.Config, st *storage.Store, d *daemon) (smtpd.MXPolicy, smtpd.Blocklist, error) {
	trusted, err := config.ParsePrefixes(cfg.SenderAuth.Trusted)
	if err != nil {
		return smtpd.MXPolicy{}, nil, err
	}
	resolver := newResolver(cfg.DNS)
	p := smtpd.MXPolicy{
		Recipients: st,
		Quotas:     st,
		Hostname:   cfg.Hostname,
		Trusted:    trusted,
		TempDir:    cfg.Paths().Queue,
		Logger:     d.log.With("proto", "smtp"),
		Filters:    filterChain(cfg.Filters, cfg.Hostname, d.log.With("proto", "smtp", "component", "filter")),
	}
	if cfg.SenderAuth.Enabled {
		p.Sender = senderauth.New(senderauth.Options{
			AuthservID:      cfg.Hostname,
			Resolver:        resolver,
			DMARCReject:     senderauth.Action(cfg.SenderAuth.DMARCReject),
			DMARCQuarantine: senderauth.Action(cfg.SenderAuth.DMARCQuarantine),
			TempError:       senderauth.Action(cfg.SenderAuth.TempError),
		})
	}
	var bl smtpd.Blocklist
	if len(cfg.DNSBL.Zones) > 0 {
		bl = &senderauth.DNSBL{Zones: cfg.DNSBL.Zones, Allow: trusted, Resolver: resolver}
	}
	return p, bl, nil
}
