package admin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSRecord is one record `mailctl dns` tells the admin to publish.
type DNSRecord struct {
	Name  string `json:"name"`  // fully qualified, with the trailing dot
	Type  string `json:"type"`  // "MX", "A", "TXT", "SRV", "CNAME", ...
	Value string `json:"value"` // presentation form, TXT unquoted
	// Comment explains the record (printed above it).
	Comment string `json:"comment,omitempty"`
	// Disabled records are printed commented out and not checked (a
	// feature that is off, e.g. MTA-STS).
	Disabled bool `json:"disabled,omitempty"`
}

// ZoneLine formats r as a zone-file line (TXT values quoted and split
// into 255-octet strings).
func (r DNSRecord) ZoneLine() string {
	var line string
	if r.Type == "TXT" {
		line = DKIMZoneLine(r.Name, r.Value)
	} else {
		line = r.Name + " IN " + r.Type + " " + r.Value
	}
	if r.Disabled {
		return "; " + line
	}
	return line
}

// DNSOptions describe the server whose records DNSRecords lists.
type DNSOptions struct {
	Domain   string // the mail domain, normalised
	Hostname string // the MX host name (config hostname)
	// IPs are the host's addresses (A and AAAA records).
	IPs []netip.Addr
	// Ports of the client services, 0 where there is no listener.
	IMAP, IMAPS, POP3, POP3S, Submission, Submissions, HTTPS int
	// DKIMName and DKIMValue are the domain's DKIM record (DKIMRecord);
	// empty when the domain has no key.
	DKIMName, DKIMValue string
	// MTASTSID is the policy id served; "" when MTA-STS is off.
	MTASTSID string
}

// DNSRecords returns every record a domain needs for mail to and from it
// and for clients to configure themselves, in zone order.
func DNSRecords(o DNSOptions) []DNSRecord {
	d := strings.TrimSuffix(o.Domain, ".") + "."
	h := strings.TrimSuffix(o.Hostname, ".") + "."
	var rs []DNSRecord
	add := func(name, typ, value, comment string) {
		rs = append(rs, DNSRecord{Name: name, Type: typ, Value: value, Comment: comment})
	}
	add(d, "MX", "10 "+h, "Mail for the domain goes to the mail host.")
	for i, ip := range o.IPs {
		typ := "A"
		if ip.Is6() && !ip.Is4In6() {
			typ = "AAAA"
		}
		c := ""
		if i == 0 {
			c = "The mail host's addresses (set its reverse DNS, PTR, to " + o.Hostname + " too)."
		}
		add(h, typ, ip.Unmap().String(), c)
	}
	if len(o.IPs) == 0 {
		rs = append(rs, DNSRecord{Name: h, Type: "A", Value: "ADDRESS", Disabled: true,
			Comment: "The mail host's address was not found in DNS: give it with --ip, or publish its A/AAAA records."})
	}
	add(d, "TXT", "v=spf1 mx -all", "SPF: only the MX hosts send mail for the domain.")
	if o.DKIMName != "" {
		add(o.DKIMName, "TXT", o.DKIMValue, "DKIM public key (mailctl dkim show "+o.Domain+").")
	}
	add("_dmarc."+d, "TXT", "v=DMARC1; p=quarantine; rua=mailto:postmaster@"+o.Domain,
		"DMARC: quarantine mail failing SPF and DKIM; aggregate reports to postmaster.")
	mtaSTS := []DNSRecord{
		{Name: "_mta-sts." + d, Type: "TXT", Value: "v=STSv1; id=" + o.MTASTSID,
			Comment: "MTA-STS (RFC 8461): senders must use verified TLS; the policy is served at https://mta-sts." + o.Domain + "/.well-known/mta-sts.txt."},
		{Name: "mta-sts." + d, Type: "CNAME", Value: h},
	}
	if o.MTASTSID == "" {
		for i := range mtaSTS {
			mtaSTS[i].Disabled = true
			mtaSTS[i].Value = strings.Replace(mtaSTS[i].Value, "id=", "id=POLICY-ID", 1)
		}
		mtaSTS[0].Comment = "MTA-STS is off: set http.mta_sts_mode = \"testing\" in maild.toml, then publish these."
	}
	rs = append(rs, mtaSTS...)
	add("_smtp._tls."+d, "TXT", "v=TLSRPTv1; rua=mailto:postmaster@"+o.Domain, "TLS-RPT (RFC 8460): TLS failure reports to postmaster.")
	srv := func(service string, port int, comment string) {
		if port == 0 {
			// RFC 6186 §4: "." means the service is not offered.
			add("_"+service+"._tcp."+d, "SRV", "0 0 0 .", comment)
			return
		}
		add("_"+service+"._tcp."+d, "SRV", "0 1 "+strconv.Itoa(port)+" "+h, comment)
	}
	srv("imaps", o.IMAPS, "Client settings by SRV (RFC 6186, RFC 8314: implicit TLS first).")
	srv("imap", o.IMAP, "")
	srv("pop3s", o.POP3S, "")
	srv("pop3", o.POP3, "")
	srv("submissions", o.Submissions, "")
	srv("submission", o.Submission, "")
	add("autoconfig."+d, "CNAME", h, "Thunderbird autoconfig and Outlook autodiscover are served by the mail host.")
	add("autodiscover."+d, "CNAME", h, "")
	if o.HTTPS != 0 {
		add("_autodiscover._tcp."+d, "SRV", "0 1 "+strconv.Itoa(o.HTTPS)+" "+h, "")
	}
	return rs
}

// DNSCheck is the outcome of checking one record.
type DNSCheck struct {
	Record DNSRecord `json:"record"`
	// Status is "OK", "missing" or "different".
	Status string `json:"status"`
	// Found lists what the name has instead (for "different").
	Found []string `json:"found,omitempty"`
	// Err is set when the query itself failed (Status "missing").
	Err string `json:"error,omitempty"`
}

// CheckDNS asks server ("host:port") for each enabled record and
// compares the answers with it.
func CheckDNS(ctx context.Context, server string, records []DNSRecord) []DNSCheck {
	c := &dnsClient{server: server, client: &dns.Client{Timeout: 5 * time.Second}}
	var out []DNSCheck
	for _, r := range records {
		if r.Disabled {
			continue
		}
		out = append(out, c.check(ctx, r))
	}
	return out
}

// SystemResolver returns the first name server of /etc/resolv.conf as
// "host:port".
func SystemResolver() (string, error) {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", fmt.Errorf("read the system resolver: %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("no name server in /etc/resolv.conf")
	}
	return netJoin(cc.Servers[0], cc.Port), nil
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

type dnsClient struct {
	server string
	client *dns.Client
}

// query returns the answers of type qtype for name (following nothing).
func (c *dnsClient) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	resp, _, err := c.client.ExchangeContext(ctx, m, c.server)
	if err == nil && resp.Truncated {
		tcp := *c.client
		tcp.Net = "tcp"
		resp, _, err = tcp.ExchangeContext(ctx, m, c.server)
	}
	if err != nil {
		return nil, err
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[resp.Rcode])
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == qtype && strings.EqualFold(rr.Header().Name, dns.Fqdn(name)) {
			out = append(out, rr)
		}
	}
	return out, nil
}

// value returns an answer in the form DNSRecord.Value uses.
func value(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.TXT:
		return strings.Join(rr.Txt, "")
	case *dns.MX:
		return fmt.Sprintf("%d %s", rr.Preference, strings.ToLower(rr.Mx))
	case *dns.SRV:
		return fmt.Sprintf("%d %d %d %s", rr.Priority, rr.Weight, rr.Port, strings.ToLower(rr.Target))
	case *dns.CNAME:
		return strings.ToLower(rr.Target)
	case *dns.A:
		return rr.A.String()
	case *dns.AAAA:
		return rr.AAAA.String()
	}
	hdr := rr.Header().String()
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), hdr))
}

func (c *dnsClient) check(ctx context.Context, r DNSRecord) DNSCheck {
	res := DNSCheck{Record: r}
	qtype := dns.StringToType[r.Type]
	rrs, err := c.query(ctx, r.Name, qtype)
	if err != nil {
		res.Status, res.Err = "missing", err.Error()
		return res
	}
	var found []string
	for _, rr := range rrs {
		found = append(found, value(rr))
	}
	want := strings.ToLower(r.Value)
	match := func(v string) bool {
		if r.Type == "TXT" { // case matters in keys
			return strings.Join(strings.Fields(v), " ") == strings.Join(strings.Fields(r.Value), " ")
		}
		v = strings.ToLower(v)
		switch r.Type {
		case "MX": // any preference
			_, wantHost, _ := strings.Cut(want, " ")
			_, host, _ := strings.Cut(v, " ")
			return host == wantHost
		case "SRV": // any priority and weight
			wf, vf := strings.Fields(want), strings.Fields(v)
			return len(wf) == 4 && len(vf) == 4 && wf[2] == vf[2] && wf[3] == vf[3]
		}
		return v == want
	}
	if slices.ContainsFunc(found, match) {
		res.Status = "OK"
		return res
	}
	if r.Type == "TXT" {
		// Only TXT records of the same kind (v=spf1, v=DMARC1, ...) matter.
		tag, _, _ := strings.Cut(want, ";")
		tag, _, _ = strings.Cut(tag, " ")
		found = slices.DeleteFunc(found, func(v string) bool { return !strings.HasPrefix(strings.ToLower(v), tag) })
	}
	if r.Type == "CNAME" && len(found) == 0 {
		// An A/AAAA record with the mail host's address does as well.
		if ok, addrs := c.sameAddresses(ctx, r.Name, r.Value); ok {
			res.Status = "OK"
			return res
		} else {
			found = addrs
		}
	}
	if len(found) == 0 {
		res.Status = "missing"
		return res
	}
	res.Status, res.Found = "different", found
	return res
}

// sameAddresses reports whether name has A/AAAA records, all of which are
// addresses of target; it returns name's addresses.
func (c *dnsClient) sameAddresses(ctx context.Context, name, target string) (bool, []string) {
	var got, want []string
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, _ := c.query(ctx, name, t)
		for _, rr := range rrs {
			got = append(got, value(rr))
		}
		rrs, _ = c.query(ctx, target, t)
		for _, rr := range rrs {
			want = append(want, value(rr))
		}
	}
	if len(got) == 0 {
		return false, nil
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return false, got
		}
	}
	return true, got
}
