package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MTASTSPolicy is the MTA-STS policy (RFC 8461 §3.2) for every local
// domain: mail for them goes to the MX hosts, over verified TLS.
type MTASTSPolicy struct {
	// Mode is "testing" or "enforce".
	Mode string
	// MX are the host names (or "*.domain" patterns) allowed as MX.
	MX []string
	// MaxAge is how long senders cache the policy.
	MaxAge time.Duration
}

// Text is the policy file, CRLF-terminated lines (RFC 8461 §3.2).
func (p MTASTSPolicy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	fmt.Fprintf(&b, "mode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", mx)
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.String()
}

// ID is the policy id for the _mta-sts TXT record (RFC 8461 §3.1): a
// digest of the policy text, so it changes exactly when the policy does
// and `mailctl dns` prints the id maild serves.
func (p MTASTSPolicy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	return hex.EncodeToString(sum[:8])
}

// handleMTASTS serves the policy (RFC 8461 §3.3: text/plain, HTTPS only,
// at mta-sts.DOMAIN; plain HTTP answers 404 since senders must not use it).
func (s *Server) handleMTASTS(w http.ResponseWriter, r *http.Request) {
	if s.opts.MTASTS == nil || r.TLS == nil {
		http.Error(w, "404 no MTA-STS policy", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write([]byte(s.opts.MTASTS.Text()))
}
