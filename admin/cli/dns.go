package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yubin/admin"
	"yubin/storage"
)

func dnsCommand(g *globals) *cobra.Command {
	var ips []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dns DOMAIN",
		Short: "Print the DNS records a mail domain needs, as a zone-file snippet",
		Long: `dns prints every DNS record DOMAIN needs, as zone-file lines to paste into
the domain's zone: MX, the mail host's A/AAAA, SPF, DKIM (once "mailctl dkim
generate DOMAIN" has made a key), DMARC, MTA-STS and TLS-RPT, the SRV
records of RFC 6186/8314 and the autoconfig/autodiscover names.

The mail host's addresses are looked up in DNS (dns.resolver or the system
resolver) unless given with --ip. Ports are those of the running maild, or
of the config. "mailctl dns check DOMAIN" checks what is published.`,
		Example: "  mailctl dns example.com --ip 203.0.113.25 --ip 2001:db8::25",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			records, err := g.dnsRecords(cmd.Context(), args[0], ips)
			if err != nil {
				return err
			}
			if asJSON {
				return g.printJSON(records)
			}
			for _, r := range records {
				if r.Comment != "" {
					fmt.Fprintf(g.out, "\n; %s\n", r.Comment)
				}
				fmt.Fprintln(g.out, r.ZoneLine())
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&ips, "ip", nil, "an address of the mail host (repeat for IPv4 and IPv6); default: look up the hostname")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as JSON")
	cmd.AddCommand(dnsCheckCommand(g))
	return cmd
}

func dnsCheckCommand(g *globals) *cobra.Command {
	var ips []string
	var resolver string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check DOMAIN",
		Short: "Check that the records `mailctl dns DOMAIN` prints are published",
		Long: `check looks up every record "mailctl dns DOMAIN" prints and says, per
record, OK, missing, or different (with what was found). It asks --resolver,
else dns.resolver of the config, else the first name server of
/etc/resolv.conf. It exits with status 1 when a record is not OK.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			records, err := g.dnsRecords(cmd.Context(), args[0], ips)
			if err != nil {
				return err
			}
			if resolver == "" {
				cfg, err := g.loadConfig()
				if err != nil {
					return err
				}
				resolver = cfg.DNS.Resolver
			}
			if resolver == "" {
				if resolver, err = admin.SystemResolver(); err != nil {
					return err
				}
			}
			checks := admin.CheckDNS(cmd.Context(), resolver, records)
			bad := 0
			for _, c := range checks {
				if c.Status != "OK" {
					bad++
				}
			}
			if asJSON {
				if err := g.printJSON(checks); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
				for _, c := range checks {
					detail := c.Record.Value
					switch {
					case c.Status == "different":
						detail = "want " + c.Record.Value + "; found: " + strings.Join(c.Found, " | ")
					case c.Err != "":
						detail = "want " + c.Record.Value + "; error: " + c.Err
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Status, c.Record.Type, c.Record.Name, detail)
				}
				tw.Flush()
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d records missing or different (resolver %s)", bad, len(checks), resolver)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&ips, "ip", nil, "an address of the mail host; default: look up the hostname")
	cmd.Flags().StringVar(&resolver, "resolver", "", `DNS server to ask, "host:port" (default: dns.resolver, else the system's)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}

// dnsRecords builds the records for domain from the store, the config and
// the running maild.
func (g *globals) dnsRecords(ctx context.Context, domainArg string, ipArgs []string) ([]admin.DNSRecord, error) {
	domain, err := storage.NormalizeDomain(strings.TrimSpace(domainArg))
	if err != nil {
		return nil, err
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	svc, err := g.clientServices(ctx)
	if err != nil {
		return nil, err
	}
	o := admin.DNSOptions{Domain: domain, Hostname: svc.Hostname, IMAP: svc.IMAP, IMAPS: svc.IMAPS, POP3: svc.POP3, POP3S: svc.POP3S,
		Submission: svc.Submission, Submissions: svc.Submissions, HTTPS: svc.HTTPS, MTASTSID: svc.MTASTSPolicyID}
	err = g.withStore(func(st *storage.Store) error {
		if ok, err := st.IsLocalDomain(ctx, domain); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("domain %s is not a local domain (add it with: mailctl domain add %s): %w", domain, domain, storage.ErrNoSuchDomain)
		}
		k, err := st.DKIMKey(ctx, domain)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		o.DKIMName, o.DKIMValue, err = admin.DKIMRecord(k)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, s := range ipArgs {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("--ip %q: %w", s, err)
		}
		o.IPs = append(o.IPs, ip)
	}
	if len(o.IPs) == 0 {
		o.IPs = lookupHost(ctx, cfg.DNS.Resolver, svc.Hostname)
	}
	return admin.DNSRecords(o), nil
}

// lookupHost returns host's addresses from resolver ("" = the system's);
// none when it has none or the lookup fails.
func lookupHost(ctx context.Context, resolver, host string) []netip.Addr {
	r := net.DefaultResolver
	if resolver != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, resolver)
		}}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if !a.IsLoopback() {
			out = append(out, a.Unmap())
		}
	}
	return out
}
