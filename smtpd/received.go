package smtpd

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"yubin/delivery"
)

// receivedHeader builds the trace field RFC 5321 §4.4 asks every relay to
// prepend, with the protocol names of RFC 3848 and the TLS details in a
// comment. It names the recipient only when there is one, as is common
// practice to avoid leaking Bcc lists.
func receivedHeader(hostname string, env delivery.Envelope, tlsState *tls.ConnectionState, hideIP bool) string {
	proto := "ESMTP"
	if env.TLS {
		proto += "S"
	}
	if env.AuthUser != "" {
		proto += "A"
	}
	var b strings.Builder
	client := fmt.Sprintf(" ([%s])", env.Remote.Addr())
	if hideIP {
		client = ""
	}
	fmt.Fprintf(&b, "Received: from %s%s\r\n\tby %s (Yubin) with %s id %s", sanitizeHelo(env.Helo), client, hostname, proto, env.ID)
	if tlsState != nil {
		fmt.Fprintf(&b, "\r\n\t(%s %s)", tls.VersionName(tlsState.Version), tls.CipherSuiteName(tlsState.CipherSuite))
	}
	if len(env.To) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", env.To[0])
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", env.ReceivedAt.Format(time.RFC1123Z))
	return b.String()
}

// sanitizeHelo keeps the client's EHLO argument from injecting header
// syntax: only printable ASCII without spaces or parentheses survives.
func sanitizeHelo(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r > ' ' && r < 0x7f && r != '(' && r != ')' && r != ';' {
			b.WriteRune(r)
		}
		if b.Len() >= 255 {
			break
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
