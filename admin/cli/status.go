package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yubin/admin/control"
)

// certWarnBefore is how long before expiry status warns about the
// certificate.
const certWarnBefore = 14 * 24 * time.Hour

// StatusReport is what `mailctl status --json` prints.
type StatusReport struct {
	Running  bool            `json:"running"`
	Status   *control.Status `json:"status,omitempty"`
	Problems []string        `json:"problems"`
}

func statusCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether maild runs: listeners, certificate, queue, version, problems",
		Long: `status asks the running maild over its control socket for its listeners,
the TLS certificate it serves (and when it expires), the queue and its
version, and lists problems: a configuration that does not load, a
self-signed or expiring certificate, a certificate that does not cover the
hostname, mail waiting in the queue for more than a day. It exits with
status 1 when maild is not running or a problem was found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := StatusReport{Problems: []string{}}
			cfg, cfgErr := g.loadConfig()
			if cfgErr != nil {
				rep.Problems = append(rep.Problems, "config: "+cfgErr.Error())
			} else if err := cfg.Validate(); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					rep.Problems = append(rep.Problems, "config: "+line)
				}
			} else {
				rep.Problems = append(rep.Problems, resolverProblems(cfg.DNS.Resolver, cfg.DNSBL.Zones, "/etc/resolv.conf")...)
			}
			c, err := g.control()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			switch {
			case errors.Is(err, control.ErrNotRunning):
				rep.Problems = append(rep.Problems, err.Error())
			case err != nil:
				return err
			default:
				rep.Running, rep.Status = true, &st
				rep.Problems = append(rep.Problems, statusProblems(st, time.Now())...)
			}
			if asJSON {
				if err := g.printJSON(rep); err != nil {
					return err
				}
			} else {
				printStatus(g, rep)
			}
			if len(rep.Problems) > 0 {
				return fmt.Errorf("%d problem(s) found", len(rep.Problems))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// statusProblems lists what needs the admin's attention in a running
// maild's status.
func statusProblems(st control.Status, now time.Time) []string {
	var out []string
	if c := st.Certificate; c != nil {
		switch left := c.NotAfter.Sub(now); {
		case left <= 0:
			out = append(out, fmt.Sprintf("TLS certificate expired on %s", c.NotAfter.Format(time.DateOnly)))
		case left < certWarnBefore:
			out = append(out, fmt.Sprintf("TLS certificate expires in %d days (%s)", int(left.Hours()/24), c.NotAfter.Format(time.DateOnly)))
		}
		if c.SelfSigned {
			out = append(out, "TLS certificate is self-signed: mail clients will warn (set tls.cert_file and tls.key_file)")
		}
		cert := &x509.Certificate{DNSNames: c.DNSNames}
		if cert.VerifyHostname(st.Hostname) != nil && !slices.Contains(c.DNSNames, st.Hostname) {
			out = append(out, fmt.Sprintf("TLS certificate does not cover the hostname %s (names: %s)", st.Hostname, strings.Join(c.DNSNames, ", ")))
		}
	}
	if !st.OldestQueued.IsZero() && now.Sub(st.OldestQueued) > 24*time.Hour {
		out = append(out, fmt.Sprintf("the oldest queued message has waited %s (mailctl queue list)", now.Sub(st.OldestQueued).Round(time.Hour)))
	}
	return out
}

func printStatus(g *globals, rep StatusReport) {
	tw := tabwriter.NewWriter(g.out, 0, 4, 2, ' ', 0)
	if st := rep.Status; st != nil {
		fmt.Fprintf(tw, "maild\trunning (pid %d, up %s)\n", st.PID, time.Since(st.Started).Round(time.Second))
		fmt.Fprintf(tw, "version\t%s (%s)\n", st.Version, st.GoVersion)
		fmt.Fprintf(tw, "hostname\t%s\n", st.Hostname)
		for i, l := range st.Listeners {
			label := ""
			if i == 0 {
				label = "listeners"
			}
			fmt.Fprintf(tw, "%s\t%-12s %s\n", label, l.Proto, l.Addr)
		}
		if c := st.Certificate; c != nil {
			kind := "issued by " + c.Issuer
			if c.SelfSigned {
				kind = "self-signed"
			}
			fmt.Fprintf(tw, "certificate\t%s, %s\n", strings.Join(c.DNSNames, ", "), kind)
			fmt.Fprintf(tw, "\texpires %s (in %d days)\n", c.NotAfter.Format(time.DateOnly), int(time.Until(c.NotAfter).Hours()/24))
		}
		q := fmt.Sprintf("%d messages, %d recipients pending", st.Messages, st.Recipients)
		if !st.OldestQueued.IsZero() {
			q += fmt.Sprintf(", oldest %s ago", time.Since(st.OldestQueued).Round(time.Second))
		}
		fmt.Fprintf(tw, "queue\t%s\n", q)
	} else {
		fmt.Fprintf(tw, "maild\tnot running\n")
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintf(tw, "problems\tnone\n")
	}
	for i, p := range rep.Problems {
		label := ""
		if i == 0 {
			label = "problems"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, p)
	}
	tw.Flush()
}

// publicResolvers are open resolvers that DNSBLs such as Spamhaus refuse
// to answer for configured zones (they answer "listed" for everyone or
// nothing at all).
var publicResolvers = map[string]string{
	"8.8.8.8": "Google", "8.8.4.4": "Google", "2001:4860:4860::8888": "Google", "2001:4860:4860::8844": "Google",
	"1.1.1.1": "Cloudflare", "1.0.0.1": "Cloudflare", "2606:4700:4700::1111": "Cloudflare", "2606:4700:4700::1001": "Cloudflare",
	"9.9.9.9": "Quad9", "149.112.112.112": "Quad9", "2620:fe::fe": "Quad9",
	"208.67.222.222": "OpenDNS", "208.67.220.220": "OpenDNS",
}

// resolverProblems warns when DNSBL zones are configured but lookups go
// to a public resolver: dns.resolver, or else the system's nameservers.
func resolverProblems(resolver string, zones []string, resolvConf string) []string {
	if len(zones) == 0 {
		return nil
	}
	var servers []string
	if resolver != "" {
		host, _, err := net.SplitHostPort(resolver)
		if err != nil {
			host = resolver
		}
		servers = []string{host}
	} else if b, err := os.ReadFile(resolvConf); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				servers = append(servers, f[1])
			}
		}
	}
	var out []string
	for _, srv := range servers {
		if who, ok := publicResolvers[srv]; ok {
			out = append(out, fmt.Sprintf("DNSBL lookups (%s) go through %s's public resolver %s, which the lists refuse: run a local resolver (e.g. unbound) and set dns.resolver", strings.Join(zones, ", "), who, srv))
		}
	}
	return out
}
