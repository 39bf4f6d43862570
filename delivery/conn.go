package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// conn is one outbound SMTP connection, ready for MAIL.
type conn struct {
	c    *smtp.Client
	key  string // pool key: host and port, or the smarthost
	name string // "mx.example.com[192.0.2.1]:25", for logs and DSNs
	tls  bool
	// state is the TLS session, nil in plaintext.
	state *tls.ConnectionState
	// sent counts the messages this connection carried.
	sent      int
	idleTimer *time.Timer
}

// quit says QUIT (briefly) and closes.
func (c *conn) quit() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.c.Quit(); err != nil {
			c.c.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.c.Close()
	}
}

// tlsMode is how a connection uses TLS.
type tlsMode int

const (
	// tlsOpportunistic: STARTTLS when offered, any certificate.
	tlsOpportunistic tlsMode = iota
	// tlsNone: plaintext (also the fallback after a failed STARTTLS).
	tlsNone
	// tlsRequired: STARTTLS must be offered and the certificate valid.
	tlsRequired
	// tlsImplicit: TLS from the first byte, certificate verified.
	tlsImplicit
)

// errTLSFailed marks a failed STARTTLS handshake: the connection is gone
// and an opportunistic sender redials in plaintext.
var errTLSFailed = errors.New("STARTTLS handshake failed")

// dialOptions are the parameters of one connection attempt.
type dialOptions struct {
	host     string // name for SNI, verification and logs (no trailing dot)
	addr     string // ip:port to dial
	key      string
	mode     tlsMode
	tls      *tls.Config // base config for verified modes; nil = system roots
	hostname string      // our EHLO name
	timeout  time.Duration
	command  time.Duration
	data     time.Duration
	// username and passwordFile, when set, authenticate with AUTH PLAIN.
	username, passwordFile string
	// sts: an MTA-STS enforce policy requires TLS (with tlsRequired);
	// every TLS failure is then a temporary 4.7.5 naming the policy.
	sts bool
}

// dial connects, says EHLO, negotiates TLS as o.mode asks and
// authenticates. Replies refusing the connection come back as *Error with
// Remote set; network trouble as a temporary *Error.
func dial(ctx context.Context, o dialOptions) (*conn, error) {
	name := o.host + "[" + o.addr + "]"
	if ip, port, err := net.SplitHostPort(o.addr); err == nil {
		name = o.host + "[" + ip + "]:" + port
	}
	d := net.Dialer{Timeout: o.timeout}
	raw, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, connError(name, "connect", err)
	}
	var c *smtp.Client
	var state *tls.ConnectionState
	switch o.mode {
	case tlsImplicit:
		tc := tls.Client(raw, verifyingConfig(o.tls, o.host))
		hctx, cancel := context.WithTimeout(ctx, o.command)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, Temporaryf([3]int{4, 7, 5}, "TLS handshake with "+name+" failed", err)
		}
		st := tc.ConnectionState()
		c, state = smtp.NewClient(tc), &st
	case tlsNone:
		c = smtp.NewClient(raw)
	default:
		c, state, err = startTLS(ctx, raw, name, o)
		if err != nil {
			raw.Close()
			return nil, err
		}
	}
	c.CommandTimeout = o.command
	c.SubmissionTimeout = o.data
	if err := c.Hello(o.hostname); err != nil {
		c.Close()
		return nil, replyError(name, "EHLO", err)
	}
	if o.username != "" {
		if err := authenticate(c, o.username, o.passwordFile); err != nil {
			c.Close()
			return nil, Temporaryf([3]int{4, 7, 0}, "Authentication with "+name+" failed", err)
		}
	}
	return &conn{c: c, key: o.key, name: name, tls: state != nil, state: state}, nil
}

// startTLS reads the greeting, says EHLO and, when STARTTLS is offered
// (or required), upgrades the connection. go-smtp's client can only say
// EHLO as "localhost" before its STARTTLS, so this part of the dialogue
// is ours; the client then takes over from a replayed greeting.
func startTLS(ctx context.Context, raw net.Conn, name string, o dialOptions) (*smtp.Client, *tls.ConnectionState, error) {
	raw.SetDeadline(time.Now().Add(o.command))
	defer raw.SetDeadline(time.Time{})
	tp := textproto.NewReader(bufio.NewReaderSize(raw, 4096))
	_, msg, err := tp.ReadResponse(220)
	if err != nil {
		return nil, nil, replyError(name, "greeting", protoError(err))
	}
	first, _, _ := strings.Cut(msg, "\n")
	greeting := func() string { return "220 " + first + "\r\n" }
	plain := func() (*smtp.Client, *tls.ConnectionState, error) {
		if tp.R.Buffered() > 0 {
			return nil, nil, Temporaryf([3]int{4, 5, 0}, name+" sent unexpected data", nil)
		}
		return smtp.NewClient(&replayConn{Conn: raw, prefix: strings.NewReader(greeting())}), nil, nil
	}
	if _, err := fmt.Fprintf(raw, "EHLO %s\r\n", o.hostname); err != nil {
		return nil, nil, connError(name, "EHLO", err)
	}
	_, msg2, err := tp.ReadResponse(250)
	if err != nil {
		var pe *textproto.Error
		if errors.As(err, &pe) && (pe.Code == 500 || pe.Code == 502) && o.mode != tlsRequired {
			return plain() // no ESMTP: go-smtp falls back to HELO
		}
		return nil, nil, replyError(name, "EHLO", protoError(err))
	}
	if !hasExtension(msg2, "STARTTLS") {
		if o.mode == tlsRequired && o.sts {
			return nil, nil, Temporaryf([3]int{4, 7, 5}, "MTA-STS policy requires TLS but "+name+" does not offer STARTTLS", nil)
		}
		if o.mode == tlsRequired {
			return nil, nil, Temporaryf([3]int{4, 7, 10}, name+" does not offer STARTTLS", nil)
		}
		return plain()
	}
	if _, err := fmt.Fprintf(raw, "STARTTLS\r\n"); err != nil {
		return nil, nil, connError(name, "STARTTLS", err)
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		var pe *textproto.Error
		if errors.As(err, &pe) && o.mode != tlsRequired {
			return plain() // refused; the session goes on in plaintext
		}
		if o.sts {
			return nil, nil, Temporaryf([3]int{4, 7, 5}, "MTA-STS policy requires TLS but "+name+" refused STARTTLS", protoError(err))
		}
		return nil, nil, replyError(name, "STARTTLS", protoError(err))
	}
	if tp.R.Buffered() > 0 {
		// RFC 3207 §5: nothing may follow the 220 before the handshake
		// (a STARTTLS command injection).
		return nil, nil, Temporaryf([3]int{4, 5, 0}, name+" sent data after STARTTLS", nil)
	}
	cfg := &tls.Config{ServerName: o.host, InsecureSkipVerify: true}
	if o.mode == tlsRequired {
		cfg = verifyingConfig(o.tls, o.host)
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, o.command)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		if o.sts {
			return nil, nil, Temporaryf([3]int{4, 7, 5}, "MTA-STS policy requires a valid certificate for "+o.host+": TLS handshake with "+name+" failed", err)
		}
		if o.mode == tlsRequired {
			return nil, nil, Temporaryf([3]int{4, 7, 5}, "TLS handshake with "+name+" failed", err)
		}
		return nil, nil, fmt.Errorf("%s: %w: %w", name, errTLSFailed, err)
	}
	st := tc.ConnectionState()
	return smtp.NewClient(&replayConn{Conn: tc, prefix: strings.NewReader(greeting())}), &st, nil
}

// verifyingConfig returns base (or a default) with the server name set:
// certificates are verified against it.
func verifyingConfig(base *tls.Config, host string) *tls.Config {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// authenticate says AUTH PLAIN with the password read from file (read at
// every connection, so a new password needs no restart).
func authenticate(c *smtp.Client, username, passwordFile string) error {
	b, err := os.ReadFile(passwordFile)
	if err != nil {
		return fmt.Errorf("read smarthost password: %w", err)
	}
	password := strings.TrimRight(string(b), "\r\n")
	return c.Auth(sasl.NewPlainClient("", username, password))
}

// hasExtension reports whether an EHLO reply (lines after the first)
// announces ext.
func hasExtension(reply, ext string) bool {
	lines := strings.Split(reply, "\n")
	for _, l := range lines[1:] {
		kw, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		if strings.EqualFold(kw, ext) {
			return true
		}
	}
	return false
}

// replayConn is a connection whose first bytes read are prefix: the
// greeting already consumed, for a go-smtp client to read again.
type replayConn struct {
	net.Conn
	prefix io.Reader
}

func (r *replayConn) Read(p []byte) (int, error) {
	if r.prefix != nil {
		n, err := r.prefix.Read(p)
		if err == io.EOF {
			r.prefix = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return r.Conn.Read(p)
}

// protoError turns a net/textproto reply error into go-smtp's form.
func protoError(err error) error {
	var pe *textproto.Error
	if !errors.As(err, &pe) {
		return err
	}
	se := &smtp.SMTPError{Code: pe.Code, Message: pe.Msg, EnhancedCode: smtp.NoEnhancedCode}
	if code, rest, ok := strings.Cut(pe.Msg, " "); ok {
		var e smtp.EnhancedCode
		if n, _ := fmt.Sscanf(code, "%d.%d.%d", &e[0], &e[1], &e[2]); n == 3 {
			se.EnhancedCode, se.Message = e, rest
		}
	}
	return se
}

// replyError classifies an error at stage: the remote's reply keeps its
// code and text (4xx temporary, 5xx permanent); anything else is a
// connection problem, temporary.
func replyError(name, stage string, err error) *Error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return connError(name, stage, err)
	}
	e := &Error{Code: se.Code, Enhanced: [3]int(se.EnhancedCode), Temporary: se.Code < 500, Public: oneLine(se.Message), Remote: name}
	if se.EnhancedCode == smtp.NoEnhancedCode || se.EnhancedCode == (smtp.EnhancedCode{}) {
		e.Enhanced = [3]int{se.Code / 100, 0, 0}
	}
	if se.Code < 400 || se.Code >= 600 {
		// Not a failure reply at all: a protocol error.
		e.Code, e.Enhanced, e.Temporary = 451, [3]int{4, 5, 0}, true
	}
	e.Err = fmt.Errorf("%s: %s", stage, se.Error())
	return e
}

// connError is a network failure talking to name: temporary.
func connError(name, stage string, err error) *Error {
	return &Error{Code: 451, Enhanced: [3]int{4, 4, 1}, Temporary: true,
		Public: fmt.Sprintf("Connection to %s failed at %s", name, stage), Err: err}
}

// oneLine joins a multi-line reply for logs and DSNs.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
