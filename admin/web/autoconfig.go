package web

import (
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"strings"
)

// ClientConfig is Thunderbird's autoconfig document, version 1.1
// (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat).
type ClientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider EmailProvider `xml:"emailProvider"`
}

// EmailProvider lists the servers of one domain.
type EmailProvider struct {
	ID               string         `xml:"id,attr"`
	Domain           []string       `xml:"domain"`
	DisplayName      string         `xml:"displayName"`
	DisplayShortName string         `xml:"displayShortName"`
	Incoming         []ServerConfig `xml:"incomingServer"`
	Outgoing         []ServerConfig `xml:"outgoingServer"`
}

// ServerConfig is one incomingServer or outgoingServer.
type ServerConfig struct {
	Type string `xml:"type,attr"` // "imap", "pop3", "smtp"
	// Hostname and Port are where to connect.
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	// SocketType is "SSL" (implicit TLS) or "STARTTLS".
	SocketType string `xml:"socketType"`
	// Authentication is "password-cleartext": PLAIN/LOGIN inside TLS.
	Authentication string `xml:"authentication"`
	// Username is "%EMAILADDRESS%": the client fills in the address.
	Username string `xml:"username"`
}

// Autoconfig returns the Thunderbird configuration of domain: every
// listener, implicit TLS before STARTTLS, IMAP before POP3.
func (sv Services) Autoconfig(domain string) ClientConfig {
	server := func(typ string, port int, socket string) ServerConfig {
		return ServerConfig{Type: typ, Hostname: sv.Hostname, Port: port, SocketType: socket,
			Authentication: "password-cleartext", Username: "%EMAILADDRESS%"}
	}
	p := EmailProvider{ID: domain, Domain: []string{domain}, DisplayName: domain, DisplayShortName: domain}
	for _, s := range []struct {
		typ, socket string
		port        int
		out         bool
	}{
		{"imap", "SSL", sv.IMAPS, false},
		{"imap", "STARTTLS", sv.IMAP, false},
		{"pop3", "SSL", sv.POP3S, false},
		{"pop3", "STARTTLS", sv.POP3, false},
		{"smtp", "SSL", sv.Submissions, true},
		{"smtp", "STARTTLS", sv.Submission, true},
	} {
		if s.port == 0 {
			continue
		}
		if s.out {
			p.Outgoing = append(p.Outgoing, server(s.typ, s.port, s.socket))
		} else {
			p.Incoming = append(p.Incoming, server(s.typ, s.port, s.socket))
		}
	}
	return ClientConfig{Version: "1.1", Provider: p}
}

// handleAutoconfig answers Thunderbird. The domain comes from the
// emailaddress parameter, or else from the host name autoconfig.DOMAIN.
func (s *Server) handleAutoconfig(w http.ResponseWriter, r *http.Request) {
	domain := ""
	if addr := r.URL.Query().Get("emailaddress"); addr != "" {
		a, err := s.lookup(r.Context(), addr)
		if err != nil {
			s.notFound(w, r, addr, err)
			return
		}
		domain = a.Domain
	} else {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		d, ok := strings.CutPrefix(strings.ToLower(host), "autoconfig.")
		if !ok {
			http.Error(w, "400 missing emailaddress parameter", http.StatusBadRequest)
			return
		}
		a, err := s.lookup(r.Context(), "postmaster@"+d)
		if err != nil {
			s.notFound(w, r, d, err)
			return
		}
		domain = a.Domain
	}
	writeXML(w, http.StatusOK, "application/xml", s.opts.Services.Autoconfig(domain))
}

// notFound answers a lookup that failed: 404 for a domain that is not
// local, 400 for a malformed address, 500 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Info("autoconfig lookup failed", "path", r.URL.Path, "address", what, "err", err)
	switch {
	case errors.Is(err, errNotLocal):
		http.Error(w, "404 no mail service for this domain here", http.StatusNotFound)
	case errors.Is(err, errBadAddress):
		http.Error(w, "400 invalid address", http.StatusBadRequest)
	default:
		http.Error(w, "500 internal error", http.StatusInternalServerError)
	}
}

// writeXML writes v as an XML document.
func writeXML(w http.ResponseWriter, status int, contentType string, v any) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(out)
	w.Write([]byte("\n"))
}
