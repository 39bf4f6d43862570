// Package config is Yubin's configuration: the schema of maild.toml, the
// defaults for every key, strict loading, and the TLS certificate the
// listeners serve.
//
// # Schema and defaults
//
// [Config] is the schema. Each field's doc comment is the user-facing
// documentation of its TOML key, and the defaults live in one place:
// [Default] for a production install and [Dev] for `maild --dev`. The example
// file packaging/maild.toml lists every key with its default; a test keeps it
// in step with [Default].
//
// # Loading
//
// [Load] decodes a file over a base configuration key by key, so a file
// names only what it changes. Decoding is strict: an unknown key, a value of
// the wrong type, or a value that fails [Config.Validate] is an error naming
// the file and line, e.g.
//
//	/etc/yubin/maild.toml:12: unknown key "smtp.tls_cert"
//
// # On disk
//
// Everything Yubin keeps lives under data_dir; [Config.Paths] names the
// parts. The self-signed fallback certificate is tls/selfsigned.crt and
// tls/selfsigned.key (mode 0600).
//
// # Invariants
//
// The package holds no mutable package-level state: a [Config] is a plain
// value, and [Certificates] is safe for concurrent use.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Config is the whole of maild.toml.
type Config struct {
	// Hostname is the server's own DNS name: the EHLO name, the name in
	// Received headers and the name the TLS certificate must cover.
	// Default: the system hostname, or "localhost" when it has none.
	Hostname string `toml:"hostname"`

	// DataDir is where all state lives: yubin.db, queue/, mail/ and tls/.
	// Default: "/var/lib/yubin".
	DataDir string `toml:"data_dir"`

	// Log is the [log] section.
	Log Log `toml:"log"`

	// TLS is the [tls] section.
	TLS TLS `toml:"tls"`

	// SMTP is the [smtp] section: the inbound MX listener.
	SMTP SMTP `toml:"smtp"`

	// IMAP is the [imap] section.
	IMAP IMAP `toml:"imap"`

	// POP3 is the [pop3] section.
	POP3 POP3 `toml:"pop3"`

	// Auth is the [auth] section: login rules shared by IMAP, POP3 and
	// submission.
	Auth Auth `toml:"auth"`

	// Submission is the [submission] section: ports 587 and 465.
	Submission Submission `toml:"submission"`

	// DNS is the [dns] section.
	DNS DNS `toml:"dns"`

	// Control is the [control] section.
	Control Control `toml:"control"`

	// Delivery is the [delivery] section: the queue and local delivery.
	Delivery Delivery `toml:"delivery"`

	// HTTP is the [http] section: client autoconfiguration, the MTA-STS
	// policy and metrics.
	HTTP HTTP `toml:"http"`

	// SenderAuth is the [senderauth] section: SPF, DKIM and DMARC.
	SenderAuth SenderAuth `toml:"senderauth"`

	// DNSBL is the [dnsbl] section: blocklists checked at connect.
	DNSBL DNSBL `toml:"dnsbl"`

	// Filters is the [filters] section: virus and spam scanners run on
	// every message before it is accepted.
	Filters Filters `toml:"filters"`

	// Dev is true under `maild --dev`. It is not a TOML key.
	Dev bool `toml:"-"`
}

// Log is the [log] section.
type Log struct {
	// Format is "text" (key=value lines) or "json" (one object per line).
	// Default: "text".
	Format string `toml:"format"`

	// Level is the least severe level written: "debug", "info", "warn" or
	// "error". Default: "info".
	Level string `toml:"level"`
}

// TLS is the [tls] section.
type TLS struct {
	// CertFile is the PEM certificate chain, leaf first. It is re-read on
	// SIGHUP. Set both CertFile and KeyFile, or neither: with neither, maild
	// generates a self-signed certificate under data_dir/tls, which clients
	// will warn about. Default: "".
	CertFile string `toml:"cert_file"`

	// KeyFile is the PEM private key for CertFile. It is re-read on SIGHUP.
	// Default: "".
	KeyFile string `toml:"key_file"`

	// ACME obtains and renews certificates from an ACME CA (Let's Encrypt
	// unless ACMEDirectory says otherwise) for the hostname and
	// autoconfig./autodiscover./mta-sts. of each local domain, cached in
	// data_dir/tls/acme. The CA must reach http.listen on port 80
	// (HTTP-01) or http.listen_tls on port 443 (TLS-ALPN-01). Exclusive
	// with cert_file/key_file. Default: false.
	ACME bool `toml:"acme"`

	// ACMEEmail is the contact address given to the ACME CA (expiry
	// notices). Default: "" (none).
	ACMEEmail string `toml:"acme_email"`

	// ACMEDirectory is the ACME directory URL. Default: "" (Let's
	// Encrypt's production directory).
	ACMEDirectory string `toml:"acme_directory"`
}

// SMTP is the [smtp] section: the inbound MX listener.
type SMTP struct {
	// Listen lists the "host:port" addresses to accept inbound mail on.
	// Default: ["0.0.0.0:25"].
	Listen []string `toml:"listen"`

	// MaxMessageBytes is the largest message accepted, in bytes, announced
	// with the SIZE extension. Default: 26214400 (25 MiB).
	MaxMessageBytes int64 `toml:"max_message_bytes"`

	// MaxRecipients is the most RCPT TO commands accepted per message.
	// Default: 100.
	MaxRecipients int `toml:"max_recipients"`

	// MaxLineLength is the longest command or text line accepted, in bytes,
	// including CRLF. RFC 5321 §4.5.3.1.6 requires at least 1000; the
	// default doubles it for tolerance. Default: 2000.
	MaxLineLength int `toml:"max_line_length"`

	// MaxConnections is the most concurrent SMTP sessions in total.
	// Default: 500.
	MaxConnections int `toml:"max_connections"`

	// MaxConnectionsPerIP is the most concurrent SMTP sessions from one
	// client: an IPv4 address, or an IPv6 /64 (a host can pick any address
	// in its /64). Port 25 listeners count together; submission (587 and
	// 465) counts together, apart from port 25. Default: 20.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// MaxNonMailCommands is how many commands that send no mail (NOOP,
	// RSET, VRFY, HELP, EXPN, EHLO, STARTTLS, unknown ones) one SMTP or
	// submission connection may send before a message is accepted; each
	// accepted message starts the count again. The next command is
	// answered with 421 4.7.0 and the connection is closed, so a client
	// cannot hold a connection slot by sending a NOOP now and then.
	// Default: 50.
	MaxNonMailCommands int `toml:"max_nonmail_commands"`

	// ReadTimeout is how long to wait for each command, and for the whole
	// DATA transfer, before dropping the session (421 4.4.2, and the
	// connection is closed). Default: "5m".
	ReadTimeout time.Duration `toml:"read_timeout"`

	// WriteTimeout is how long to wait for the client to take each reply.
	// Default: "1m".
	WriteTimeout time.Duration `toml:"write_timeout"`

	// ShutdownTimeout is how long SIGTERM waits for open sessions to finish
	// before closing them. Default: "30s".
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`

	// MaxErrors is how many refused commands (unknown recipients, relay
	// attempts, failed logins) one connection may have on any SMTP
	// listener; the next one is answered with 421 and the connection is
	// closed. Default: 10.
	MaxErrors int `toml:"max_errors"`
}

// Delivery is the [delivery] section.
type Delivery struct {
	// Workers is the number of messages delivered at once, local and
	// remote. Default: 16 (deliveries wait on fsync and remote servers).
	Workers int `toml:"workers"`

	// RetryMin is the delay before the first retry after a temporary
	// failure; later retries back off exponentially. Default: "1m".
	RetryMin time.Duration `toml:"retry_min"`

	// RetryMax caps the backoff between retries. Default: "1h".
	RetryMax time.Duration `toml:"retry_max"`

	// MaxAge is how long a message is retried before it is given up and
	// bounced to its sender. Default: "120h" (5 days).
	MaxAge time.Duration `toml:"max_age"`

	// DelayNotice is how long a message waits before its sender is told
	// it is delayed (one notice per message). Default: "4h".
	DelayNotice time.Duration `toml:"delay_notice"`

	// SRS rewrites the envelope sender of mail forwarded to other domains
	// (alias targets elsewhere, Sieve redirects) with the Sender Rewriting
	// Scheme, so SPF keeps passing, and accepts bounces to those
	// addresses on port 25. The key is data_dir/srs.key (made on first
	// use). Default: true.
	SRS bool `toml:"srs"`
	// SRSDomain is the domain of rewritten senders; it must route to us
	// (MX) and its SPF must allow us. "" uses hostname. Default: "".
	SRSDomain string `toml:"srs_domain"`

	// Postmaster is where mail to postmaster@ of a local domain goes when
	// that domain has no postmaster user or alias (RFC 5321 §4.5.1: every
	// domain must accept it): a full address, local or remote. "" sends
	// it to the domain's first user (the oldest account). Default: "".
	Postmaster string `toml:"postmaster"`

	// RemotePort is the TCP port of remote MX hosts. Only tests change it.
	// Default: 25.
	RemotePort int `toml:"remote_port"`

	// MaxConnectionsPerDomain bounds concurrent outbound connections to
	// one destination domain. Default: 5.
	MaxConnectionsPerDomain int `toml:"max_connections_per_domain"`

	// MaxMessagesPerConnection is how many messages one outbound
	// connection carries before it is closed. Default: 100.
	MaxMessagesPerConnection int `toml:"max_messages_per_connection"`

	// RateLimits caps messages per minute to a destination domain, e.g.
	// { "gmail.com" = 60 }, for receivers that throttle busy senders.
	// Default: none.
	RateLimits map[string]int `toml:"rate_limits"`

	// Smarthost relays outbound mail through "host:port" instead of MX
	// delivery, for networks that block port 25 (OP25B). Default: "" (MX).
	Smarthost string `toml:"smarthost"`

	// SmarthostTLS is "starttls" (required), "tls" (implicit, port 465) or
	// "none" (only on trusted networks). Default: "starttls".
	SmarthostTLS string `toml:"smarthost_tls"`

	// SmarthostUsername and SmarthostPasswordFile are the AUTH PLAIN
	// credentials for the smarthost; the password is read from the file
	// so it stays out of the config. Default: no AUTH.
	SmarthostUsername     string `toml:"smarthost_username"`
	SmarthostPasswordFile string `toml:"smarthost_password_file"`

	// SmarthostDomains limits the smarthost to these recipient domains;
	// others go by MX. Empty: all outbound mail. Default: [].
	SmarthostDomains []string `toml:"smarthost_domains"`
}

// Submission configures the MSA listeners (RFC 6409, RFC 8314).
type Submission struct {
	// Listen lists "host:port" addresses for submission with STARTTLS
	// (port 587). Default: ["0.0.0.0:587"].
	Listen []string `toml:"listen"`

	// ListenTLS lists addresses for submission over implicit TLS (port
	// 465). Default: ["0.0.0.0:465"].
	ListenTLS []string `toml:"listen_tls"`

	// HideClientIP leaves the sender's IP address out of the Received
	// header of submitted mail. Default: false.
	HideClientIP bool `toml:"hide_client_ip"`

	// MaxMessagesPerHour is how many messages one authenticated user may
	// submit per hour (sendmail excluded), so a stolen password cannot
	// send a flood; MAIL beyond it gets 451 4.7.1. 0 means no limit.
	// Default: 200.
	MaxMessagesPerHour int `toml:"max_messages_per_hour"`
}

// DNS configures name resolution for outbound delivery.
type DNS struct {
	// Resolver is a "host:port" DNS server to ask instead of the system
	// resolver. Tests point it at their own server. Default: "".
	Resolver string `toml:"resolver"`
}

// Control configures the sockets local programs use to reach maild.
// Administering and submitting are apart: the control socket can delete
// queued mail, so only root and maild's user may use it; sendmail only
// needs the submit socket.
type Control struct {
	// Socket is the control socket mailctl's live commands (queue, route,
	// status) use: mode 0600, for root and maild's user only. Default:
	// "/run/yubin/control.sock"; with --dev, data_dir/control.sock.
	Socket string `toml:"socket"`

	// SubmitSocket is the socket sendmail hands messages to, and the only
	// thing it accepts: mode 0660, group SubmitGroup (when the group
	// exists). Add a local user or service to that group to let it send
	// mail; "" turns local submission off. Default:
	// "/run/yubin/submit.sock"; with --dev, data_dir/submit.sock.
	SubmitSocket string `toml:"submit_socket"`

	// SubmitGroup is the group (name or numeric id) given the submit
	// socket. Default: "yubin-submit", which the packages create.
	SubmitGroup string `toml:"submit_group"`
}

// IMAP configures the IMAP listeners.
type IMAP struct {
	// Listen lists "host:port" addresses for IMAP with STARTTLS (port 143).
	// Empty disables it. Default: ["0.0.0.0:143"].
	Listen []string `toml:"listen"`

	// ListenTLS lists addresses for IMAP over implicit TLS (port 993).
	// Default: ["0.0.0.0:993"].
	ListenTLS []string `toml:"listen_tls"`

	// MaxMessageBytes is the largest message APPEND accepts (APPENDLIMIT).
	// Default: 52428800 (50 MiB).
	MaxMessageBytes int64 `toml:"max_message_bytes"`

	// MaxConnectionsPerIP bounds concurrent IMAP connections from one client
	// (an IPv4 address or an IPv6 /64; a phone and a desktop open several
	// each), over all IMAP listeners. Default: 50.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// MaxConnections bounds concurrent IMAP connections in total, over all
	// IMAP listeners; a connection over it gets "* BYE" and is closed.
	// Default: 1000.
	MaxConnections int `toml:"max_connections"`
}

// POP3 configures the POP3 listeners.
type POP3 struct {
	// Listen lists "host:port" addresses for POP3 with STLS (port 110).
	// Empty disables it. Default: ["0.0.0.0:110"].
	Listen []string `toml:"listen"`

	// ListenTLS lists addresses for POP3 over implicit TLS (port 995).
	// Default: ["0.0.0.0:995"].
	ListenTLS []string `toml:"listen_tls"`
}

// Auth holds the login rules shared by every protocol.
type Auth struct {
	// PlaintextOnLoopback allows logins without TLS from loopback
	// addresses (127.0.0.0/8, ::1). Never needed in production; the dev
	// mode turns it on. Default: false.
	PlaintextOnLoopback bool `toml:"plaintext_on_loopback"`

	// MaxFailures is how many failed logins one client address may have
	// for one account within failure_window before it may not try that
	// account again until the window has passed. The account is never
	// locked for everyone: its owner still logs in from an address that
	// has not failed. IPv6 clients count by /64. Default: 10.
	MaxFailures int `toml:"max_failures"`

	// MaxFailuresPerAddress is how many failed logins one client address
	// (IPv6: one /64) may have within failure_window, all accounts
	// together, before it may not log in at all until the window has
	// passed. Default: 50.
	MaxFailuresPerAddress int `toml:"max_failures_per_address"`

	// MaxPasswordChecks is how many password hashes run at once. Each
	// argon2id check holds 19 MiB, so this bounds the memory logins can
	// take; a login that finds every slot busy for 2 seconds gets a
	// temporary failure. 0 means one per CPU, at most 4. Default: 0.
	MaxPasswordChecks int `toml:"max_password_checks"`

	// FailureWindow is the period over which failures are counted.
	// Default: "15m".
	FailureWindow time.Duration `toml:"failure_window"`

	// FailureDelay is how long the reply to a failed login is delayed; it
	// doubles with each further failure, up to 8 times this value.
	// Default: "1s".
	FailureDelay time.Duration `toml:"failure_delay"`
}

// HTTP is the [http] section: the web side of the server.
type HTTP struct {
	// Listen lists "host:port" addresses for plain HTTP: Thunderbird
	// autoconfig (autoconfig.DOMAIN) and the Outlook autodiscover JSON
	// redirect. Empty disables it. Default: ["0.0.0.0:80"].
	Listen []string `toml:"listen"`

	// ListenTLS lists addresses for HTTPS: everything Listen serves plus
	// Outlook autodiscover (autodiscover.DOMAIN), the MTA-STS policy
	// (mta-sts.DOMAIN) and the per-user Apple profile, with the same
	// certificate as the mail listeners. Default: ["0.0.0.0:443"].
	ListenTLS []string `toml:"listen_tls"`

	// MetricsListen is the "host:port" serving Prometheus metrics at
	// /metrics. Keep it on loopback or a private network; "" disables it.
	// Default: "127.0.0.1:9425".
	MetricsListen string `toml:"metrics_listen"`

	// MTASTSMode is the MTA-STS policy mode (RFC 8461) served at
	// https://mta-sts.DOMAIN/.well-known/mta-sts.txt: "" (no policy),
	// "testing" or "enforce". Publish the DNS records `mailctl dns DOMAIN`
	// prints before turning it on. Default: "".
	MTASTSMode string `toml:"mta_sts_mode"`

	// MTASTSMaxAge is how long senders may cache the MTA-STS policy.
	// Default: "168h" (one week).
	MTASTSMaxAge time.Duration `toml:"mta_sts_max_age"`
}

// Filters is the [filters] section. A scanner with an empty address is
// off. Scanners run once per message, after the sender checks and before
// the 250: clamd on port 25 and submission, spamd on port 25 only.
type Filters struct {
	// Clamd is [filters.clamd]: ClamAV virus scanning.
	Clamd ClamdFilter `toml:"clamd"`
	// Spamd is [filters.spamd]: SpamAssassin scoring.
	Spamd SpamdFilter `toml:"spamd"`
	// Rspamd is [filters.rspamd]: rspamd scoring (instead of spamd).
	Rspamd RspamdFilter `toml:"rspamd"`
	// Milter is [filters.milter]: one milter (rspamd, clamav-milter,
	// OpenDKIM...) run once per message.
	Milter MilterFilter `toml:"milter"`
}

// RspamdFilter configures the rspamd client (HTTP /checkv2). Only one
// spam engine may be set: spamd or rspamd.
type RspamdFilter struct {
	// Address is rspamd's normal worker: "http://127.0.0.1:11333" (a bare
	// "host:port" means http). Empty turns it off. Default: "".
	Address string `toml:"address"`
	// Controller is the controller worker used for learning
	// ("http://127.0.0.1:11334"); "" uses address. Default: "".
	Controller string `toml:"controller"`
	// Password is the controller's password for learning. Default: "".
	Password string `toml:"password"`
	// JunkScore, when > 0, also sends messages scoring at least this to
	// Junk; 0 follows rspamd's action only ("add header" and "rewrite
	// subject" go to Junk, "reject" is refused with 550 5.7.1, "soft
	// reject" and "greylist" get 451 4.7.1). Default: 0.
	JunkScore float64 `toml:"junk_score"`
	// MaxBytes is the largest message scored. Default: 2097152 (2 MiB).
	MaxBytes int64 `toml:"max_bytes"`
	// Timeout bounds one scoring. Default: "30s".
	Timeout time.Duration `toml:"timeout"`
	// FailOpen accepts mail (tagged X-Yubin-Filter-Skipped) when rspamd
	// is down or slow; false answers 451 4.7.1. Default: true.
	FailOpen bool `toml:"fail_open"`
	// Learn feeds IMAP moves into and out of Junk to /learnspam and
	// /learnham on the controller. Default: false.
	Learn bool `toml:"learn"`
}

// MilterFilter configures the milter client.
type MilterFilter struct {
	// Address is the milter's socket: "tcp:127.0.0.1:11332",
	// "unix:/run/milter.sock" (also "inet:port@host" as in Postfix).
	// Empty turns it off. Default: "".
	Address string `toml:"address"`
	// Timeout bounds one message's whole conversation. Default: "30s".
	Timeout time.Duration `toml:"timeout"`
	// FailOpen accepts mail (tagged) when the milter is down or slow;
	// false answers 451 4.7.1. Default: false.
	FailOpen bool `toml:"fail_open"`
	// OnSubmission runs the milter on authenticated submissions too (for
	// a signing milter such as OpenDKIM). Default: false.
	OnSubmission bool `toml:"on_submission"`
}

// ClamdFilter configures the clamd client (INSTREAM).
type ClamdFilter struct {
	// Address is clamd's socket: "unix:/run/clamav/clamd.ctl" or
	// "host:port". Empty turns virus scanning off. Default: "".
	Address string `toml:"address"`
	// MaxBytes is the largest message scanned; larger ones pass
	// unscanned (tagged). Keep it at or below clamd's StreamMaxLength.
	// Default: 26214400 (25 MiB).
	MaxBytes int64 `toml:"max_bytes"`
	// Timeout bounds one scan. Default: "30s".
	Timeout time.Duration `toml:"timeout"`
	// FailOpen accepts mail (tagged X-Yubin-Filter-Skipped) when clamd is
	// down or slow; false answers 451 4.7.1 so the sender retries.
	// Default: false.
	FailOpen bool `toml:"fail_open"`
}

// SpamdFilter configures the SpamAssassin spamd client (SPAMC protocol).
type SpamdFilter struct {
	// Address is spamd's socket: "127.0.0.1:783" or "unix:/path". Empty
	// turns spam scoring off. Default: "".
	Address string `toml:"address"`
	// JunkScore sends messages scoring at least this to Junk. Default: 5.
	JunkScore float64 `toml:"junk_score"`
	// RejectScore refuses messages scoring at least this with 550 5.7.1;
	// 0 never refuses. Default: 0.
	RejectScore float64 `toml:"reject_score"`
	// MaxBytes is the largest message scored; larger ones pass unscored.
	// Default: 524288 (512 KiB, as spamc).
	MaxBytes int64 `toml:"max_bytes"`
	// Timeout bounds one scoring. Default: "30s".
	Timeout time.Duration `toml:"timeout"`
	// FailOpen accepts mail (tagged X-Yubin-Filter-Skipped) when spamd is
	// down or slow; false answers 451 4.7.1. Default: true.
	FailOpen bool `toml:"fail_open"`
	// Learn feeds messages users move into Junk over IMAP to spamd as
	// spam, and those moved out of it as ham (SPAMC TELL, in the
	// background); spamd must run with --allow-tell. Default: false.
	Learn bool `toml:"learn"`
}

// Default returns the production defaults. A production install needs to
// set only hostname (when the system hostname is not the mail name).
func Default() Config {
	return Config{
		Hostname: defaultHostname(),
		DataDir:  "/var/lib/yubin",
		Log: Log{
			Format: "text",
			Level:  "info",
		},
		SMTP: SMTP{
			Listen:              []string{"0.0.0.0:25"},
			MaxMessageBytes:     25 << 20,
			MaxRecipients:       100,
			MaxLineLength:       2000,
			MaxConnections:      500,
			MaxConnectionsPerIP: 20,
			MaxNonMailCommands:  50,
			ReadTimeout:         5 * time.Minute,
			WriteTimeout:        time.Minute,
			ShutdownTimeout:     30 * time.Second,
			MaxErrors:           10,
		},
		IMAP: IMAP{
			Listen:              []string{"0.0.0.0:143"},
			ListenTLS:           []string{"0.0.0.0:993"},
			MaxMessageBytes:     50 << 20,
			MaxConnectionsPerIP: 50,
			MaxConnections:      1000,
		},
		POP3: POP3{
			Listen:    []string{"0.0.0.0:110"},
			ListenTLS: []string{"0.0.0.0:995"},
		},
		Auth: Auth{
			MaxFailures:           10,
			MaxFailuresPerAddress: 50,
			FailureWindow:         15 * time.Minute,
			FailureDelay:          time.Second,
		},
		Submission: Submission{
			Listen:             []string{"0.0.0.0:587"},
			ListenTLS:          []string{"0.0.0.0:465"},
			MaxMessagesPerHour: 200,
		},
		SenderAuth: SenderAuth{
			Enabled:         true,
			DMARCReject:     "reject",
			DMARCQuarantine: "junk",
			TempError:       "defer",
			Trusted:         []string{},
		},
		DNSBL: DNSBL{Zones: []string{}},
		Filters: Filters{
			Clamd:  ClamdFilter{MaxBytes: 25 << 20, Timeout: 30 * time.Second},
			Spamd:  SpamdFilter{JunkScore: 5, MaxBytes: 512 << 10, Timeout: 30 * time.Second, FailOpen: true},
			Rspamd: RspamdFilter{MaxBytes: 2 << 20, Timeout: 30 * time.Second, FailOpen: true},
			Milter: MilterFilter{Timeout: 30 * time.Second},
		},
		Control: Control{Socket: "/run/yubin/control.sock", SubmitSocket: "/run/yubin/submit.sock", SubmitGroup: "yubin-submit"},
		HTTP: HTTP{
			Listen:        []string{"0.0.0.0:80"},
			ListenTLS:     []string{"0.0.0.0:443"},
			MetricsListen: "127.0.0.1:9425",
			MTASTSMaxAge:  168 * time.Hour,
		},
		Delivery: Delivery{
			Workers:                  16,
			RetryMin:                 time.Minute,
			RetryMax:                 time.Hour,
			MaxAge:                   120 * time.Hour,
			DelayNotice:              4 * time.Hour,
			SRS:                      true,
			RemotePort:               25,
			MaxConnectionsPerDomain:  5,
			MaxMessagesPerConnection: 100,
			SmarthostTLS:             "starttls",
			RateLimits:               map[string]int{},
			SmarthostDomains:         []string{},
		},
	}
}

// Dev returns the embedded configuration of `maild --dev`: the production
// limits, but hostname "mail.example.test", listeners on 127.0.0.1 with
// unprivileged ports, and state in dataDir ("./var" when empty).
func Dev(dataDir string) Config {
	if dataDir == "" {
		dataDir = "./var"
	}
	c := Default()
	c.Hostname = "mail.example.test"
	c.DataDir = dataDir
	c.Dev = true
	c.SMTP.Listen = []string{"127.0.0.1:2525"}
	c.IMAP.Listen = []string{"127.0.0.1:2143"}
	c.IMAP.ListenTLS = []string{"127.0.0.1:2993"}
	c.POP3.Listen = []string{"127.0.0.1:2110"}
	c.POP3.ListenTLS = []string{"127.0.0.1:2995"}
	c.Submission.Listen = []string{"127.0.0.1:2587"}
	c.Submission.ListenTLS = []string{"127.0.0.1:2465"}
	c.Control.Socket = filepath.Join(dataDir, "control.sock")
	c.Control.SubmitSocket = filepath.Join(dataDir, "submit.sock")
	c.HTTP.Listen = []string{"127.0.0.1:8080"}
	c.HTTP.ListenTLS = []string{"127.0.0.1:8443"}
	c.Auth.PlaintextOnLoopback = true
	// Sender checks need the real DNS of real senders; a dev setup
	// mostly sees local test mail (tests turn them on explicitly).
	c.SenderAuth.Enabled = false
	return c
}

// defaultHostname is the system hostname when it is a usable DNS name, else
// "localhost".
func defaultHostname() string {
	h, err := os.Hostname()
	if err != nil || validDNSName(h) != nil {
		return "localhost"
	}
	return h
}

// clone returns a copy of c that shares no memory with it, so decoding into
// the copy cannot change c.
func (c Config) clone() Config {
	c.SMTP.Listen = slices.Clone(c.SMTP.Listen)
	c.IMAP.Listen = slices.Clone(c.IMAP.Listen)
	c.IMAP.ListenTLS = slices.Clone(c.IMAP.ListenTLS)
	c.POP3.Listen = slices.Clone(c.POP3.Listen)
	c.POP3.ListenTLS = slices.Clone(c.POP3.ListenTLS)
	c.Submission.Listen = slices.Clone(c.Submission.Listen)
	c.Submission.ListenTLS = slices.Clone(c.Submission.ListenTLS)
	c.Delivery.SmarthostDomains = slices.Clone(c.Delivery.SmarthostDomains)
	c.Delivery.RateLimits = maps.Clone(c.Delivery.RateLimits)
	c.SenderAuth.Trusted = slices.Clone(c.SenderAuth.Trusted)
	c.DNSBL.Zones = slices.Clone(c.DNSBL.Zones)
	c.HTTP.Listen = slices.Clone(c.HTTP.Listen)
	c.HTTP.ListenTLS = slices.Clone(c.HTTP.ListenTLS)
	return c
}

// Paths are the locations derived from data_dir.
type Paths struct {
	DB    string // data_dir/yubin.db: the SQLite database
	Queue string // data_dir/queue: the outbound and local delivery queue
	Mail  string // data_dir/mail: mailboxes
	TLS   string // data_dir/tls: the self-signed fallback certificate
}

// Paths returns the locations derived from c.DataDir.
func (c Config) Paths() Paths {
	return Paths{
		DB:    filepath.Join(c.DataDir, "yubin.db"),
		Queue: filepath.Join(c.DataDir, "queue"),
		Mail:  filepath.Join(c.DataDir, "mail"),
		TLS:   filepath.Join(c.DataDir, "tls"),
	}
}

// parseLevel maps a value of log.level to its slog level.
func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log.level: unknown level %q (want debug, info, warn or error)", s)
}

// Handler returns a slog handler writing to w in l.Format at l.Level.
func (l Log) Handler(w io.Writer) (slog.Handler, error) {
	level, err := parseLevel(l.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.Format {
	case "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	default:
		return nil, fmt.Errorf("log.format: unknown format %q (want text or json)", l.Format)
	}
}
