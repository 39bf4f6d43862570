package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fieldError is a problem with the value of one key.
type fieldError struct {
	Key string // TOML key, e.g. "smtp.max_recipients"
	Msg string // what is wrong, e.g. "must be > 0"
}

func (e *fieldError) Error() string { return e.Key + ": " + e.Msg }

// Validate reports every key of c whose value is unusable, one error per
// key, each naming the key: `smtp.max_recipients: must be > 0`.
func (c Config) Validate() error {
	errs := c.validate()
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

func (c Config) validate() []*fieldError {
	var errs []*fieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, &fieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	positive := func(key string, v int64) {
		if v <= 0 {
			bad(key, "must be > 0")
		}
	}
	duration := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be > 0")
		}
	}

	if c.Hostname == "" {
		bad("hostname", "must not be empty")
	} else if err := validDNSName(c.Hostname); err != nil {
		bad("hostname", "%q is not a valid DNS name: %v", c.Hostname, err)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Filters.Spamd.Address != "" && c.Filters.Rspamd.Address != "" {
		bad("filters.rspamd.address", "only one spam engine may be set: remove [filters.spamd] address or [filters.rspamd] address")
	}
	if a := c.Filters.Milter.Address; a != "" {
		if _, _, err := ParseMilterAddress(a); err != nil {
			bad("filters.milter.address", "%v", err)
		}
	}

	if _, err := parseLevel(c.Log.Level); err != nil {
		bad("log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "unknown format %q (want text or json)", c.Log.Format)
	}

	if c.TLS.CertFile == "" && c.TLS.KeyFile != "" {
		bad("tls.cert_file", "must be set when tls.key_file is")
	}
	if c.TLS.CertFile != "" && c.TLS.KeyFile == "" {
		bad("tls.key_file", "must be set when tls.cert_file is")
	}
	if c.TLS.ACME && (c.TLS.CertFile != "" || c.TLS.KeyFile != "") {
		bad("tls.acme", "cannot be used with tls.cert_file and tls.key_file")
	}
	if p := c.Delivery.Postmaster; p != "" && (!strings.Contains(p, "@") || strings.ContainsAny(p, " \t\r\n<>,")) {
		bad("delivery.postmaster", "%q is not an email address", p)
	}
	if c.TLS.ACMEEmail != "" && !strings.Contains(c.TLS.ACMEEmail, "@") {
		bad("tls.acme_email", "%q is not an email address", c.TLS.ACMEEmail)
	}
	if d := c.TLS.ACMEDirectory; d != "" {
		if u, err := url.Parse(d); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("tls.acme_directory", "%q is not an http(s) URL", d)
		}
	}

	if len(c.SMTP.Listen) == 0 {
		bad("smtp.listen", "must list at least one address")
	}
	for _, addr := range c.SMTP.Listen {
		if err := validListen(addr); err != nil {
			bad("smtp.listen", "%q: %v", addr, err)
		}
	}
	positive("smtp.max_message_bytes", c.SMTP.MaxMessageBytes)
	positive("smtp.max_recipients", int64(c.SMTP.MaxRecipients))
	if c.SMTP.MaxLineLength < 1000 {
		bad("smtp.max_line_length", "must be >= 1000 (RFC 5321 §4.5.3.1.6)")
	}
	positive("smtp.max_connections", int64(c.SMTP.MaxConnections))
	positive("smtp.max_connections_per_ip", int64(c.SMTP.MaxConnectionsPerIP))
	positive("smtp.max_nonmail_commands", int64(c.SMTP.MaxNonMailCommands))
	duration("smtp.read_timeout", c.SMTP.ReadTimeout)
	duration("smtp.write_timeout", c.SMTP.WriteTimeout)
	duration("smtp.shutdown_timeout", c.SMTP.ShutdownTimeout)

	for key, addrs := range map[string][]string{"submission.listen": c.Submission.Listen, "submission.listen_tls": c.Submission.ListenTLS, "imap.listen": c.IMAP.Listen, "imap.listen_tls": c.IMAP.ListenTLS, "pop3.listen": c.POP3.Listen, "pop3.listen_tls": c.POP3.ListenTLS} {
		for _, addr := range addrs {
			if err := validListen(addr); err != nil {
				bad(key, "%q: %v", addr, err)
			}
		}
	}
	positive("imap.max_message_bytes", c.IMAP.MaxMessageBytes)
	if c.IMAP.MaxMessageBytes > 1<<32-1 {
		bad("imap.max_message_bytes", "must be < 4 GiB")
	}
	positive("imap.max_connections_per_ip", int64(c.IMAP.MaxConnectionsPerIP))
	positive("imap.max_connections", int64(c.IMAP.MaxConnections))
	positive("auth.max_failures", int64(c.Auth.MaxFailures))
	positive("auth.max_failures_per_address", int64(c.Auth.MaxFailuresPerAddress))
	if c.Auth.MaxPasswordChecks < 0 {
		bad("auth.max_password_checks", "must be >= 0 (0: one per CPU, at most 4)")
	}
	duration("auth.failure_window", c.Auth.FailureWindow)
	duration("auth.failure_delay", c.Auth.FailureDelay)

	positive("delivery.workers", int64(c.Delivery.Workers))
	duration("delivery.retry_min", c.Delivery.RetryMin)
	duration("delivery.retry_max", c.Delivery.RetryMax)
	if c.Delivery.RetryMin > 0 && c.Delivery.RetryMax > 0 && c.Delivery.RetryMax < c.Delivery.RetryMin {
		bad("delivery.retry_max", "must be >= delivery.retry_min (%v)", c.Delivery.RetryMin)
	}
	duration("delivery.max_age", c.Delivery.MaxAge)
	duration("delivery.delay_notice", c.Delivery.DelayNotice)
	if c.Delivery.RemotePort <= 0 || c.Delivery.RemotePort > 65535 {
		bad("delivery.remote_port", "must be a TCP port (1-65535)")
	}
	positive("delivery.max_connections_per_domain", int64(c.Delivery.MaxConnectionsPerDomain))
	positive("delivery.max_messages_per_connection", int64(c.Delivery.MaxMessagesPerConnection))
	for domain, n := range c.Delivery.RateLimits {
		if n <= 0 {
			bad("delivery.rate_limits", "%q: must be > 0 messages per minute", domain)
		}
	}
	if c.Delivery.Smarthost != "" {
		if err := validListen(c.Delivery.Smarthost); err != nil {
			bad("delivery.smarthost", "%q: %v", c.Delivery.Smarthost, err)
		}
	}
	switch c.Delivery.SmarthostTLS {
	case "starttls", "tls", "none":
	default:
		bad("delivery.smarthost_tls", "unknown mode %q (want starttls, tls or none)", c.Delivery.SmarthostTLS)
	}
	if (c.Delivery.SmarthostUsername == "") != (c.Delivery.SmarthostPasswordFile == "") {
		bad("delivery.smarthost_username", "set together with delivery.smarthost_password_file")
	}
	if c.DNS.Resolver != "" {
		if err := validListen(c.DNS.Resolver); err != nil {
			bad("dns.resolver", "%q: %v", c.DNS.Resolver, err)
		}
	}
	if c.Control.Socket == "" {
		bad("control.socket", "must not be empty")
	}
	c.validateInbound(bad)
	for key, addrs := range map[string][]string{"http.listen": c.HTTP.Listen, "http.listen_tls": c.HTTP.ListenTLS} {
		for _, addr := range addrs {
			if err := validListen(addr); err != nil {
				bad(key, "%q: %v", addr, err)
			}
		}
	}
	if c.HTTP.MetricsListen != "" {
		if err := validListen(c.HTTP.MetricsListen); err != nil {
			bad("http.metrics_listen", "%q: %v", c.HTTP.MetricsListen, err)
		}
	}
	switch c.HTTP.MTASTSMode {
	case "", "testing", "enforce":
	default:
		bad("http.mta_sts_mode", "unknown mode %q (want \"\", testing or enforce)", c.HTTP.MTASTSMode)
	}
	duration("http.mta_sts_max_age", c.HTTP.MTASTSMaxAge)
	return errs
}

// validListen checks that addr is "host:port" with a numeric port and a host
// that is empty (all addresses), an IP address or a DNS name.
func validListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	if host == "" || net.ParseIP(host) != nil {
		return nil
	}
	if err := validDNSName(host); err != nil {
		return fmt.Errorf("bad host %q: %v", host, err)
	}
	return nil
}

// validDNSName checks that name is a DNS host name: dot-separated labels of
// letters, digits and hyphens (RFC 1123 §2.1), no label longer than 63
// bytes and no longer than 253 bytes in all.
func validDNSName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > 253 {
		return errors.New("longer than 253 bytes")
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return errors.New("empty label")
		case len(label) > 63:
			return fmt.Errorf("label %q longer than 63 bytes", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %q starts or ends with '-'", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("label %q contains %q", label, r)
			}
		}
	}
	return nil
}

// ParseMilterAddress reads a milter socket address: "tcp:host:port",
// "inet:port@host" (Postfix), "unix:/path" or an absolute path.
func ParseMilterAddress(a string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(a, "unix:"):
		network, addr = "unix", strings.TrimPrefix(a, "unix:")
	case strings.HasPrefix(a, "/"):
		network, addr = "unix", a
	case strings.HasPrefix(a, "tcp:"):
		network, addr = "tcp", strings.TrimPrefix(a, "tcp:")
	case strings.HasPrefix(a, "inet:"):
		port, host, ok := strings.Cut(strings.TrimPrefix(a, "inet:"), "@")
		if !ok {
			host = "127.0.0.1"
		}
		network, addr = "tcp", net.JoinHostPort(host, port)
	default:
		network, addr = "tcp", a
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("%q: want tcp:host:port, inet:port@host or unix:/path", a)
		}
	} else if addr == "" {
		return "", "", fmt.Errorf("%q: empty socket path", a)
	}
	return network, addr, nil
}
