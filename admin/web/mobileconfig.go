package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"yubin/storage"
)

// MobileConfig returns an Apple configuration profile (.mobileconfig,
// an XML property list) with one mail account for addr: IMAP and SMTP,
// implicit TLS preferred. The password is not in it: the device asks for
// it on installation. Payload UUIDs derive from the address and host
// name, so installing a newer profile replaces the older one.
func (sv Services) MobileConfig(addr storage.Address) ([]byte, error) {
	inPort, inSSL, inType := sv.IMAPS, true, "EmailTypeIMAP"
	switch {
	case sv.IMAPS != 0:
	case sv.IMAP != 0:
		inPort, inSSL = sv.IMAP, false
	case sv.POP3S != 0:
		inPort, inType = sv.POP3S, "EmailTypePOP"
	case sv.POP3 != 0:
		inPort, inSSL, inType = sv.POP3, false, "EmailTypePOP"
	default:
		return nil, errors.New("no IMAP or POP3 listener to configure")
	}
	outPort, outSSL := sv.Submissions, true
	if outPort == 0 {
		outPort, outSSL = sv.Submission, false
	}
	if outPort == 0 {
		return nil, errors.New("no submission listener to configure")
	}
	email := addr.String()
	// Reverse-DNS identifier: com.example.mail.alice-example.com
	labels := strings.Split(sv.Hostname, ".")
	slices.Reverse(labels)
	ident := strings.Join(labels, ".") + ".yubin." + strings.NewReplacer("@", "-at-", ".", "-").Replace(email)

	account := plistDict{
		{"EmailAccountDescription", email},
		{"EmailAccountName", email},
		{"EmailAccountType", inType},
		{"EmailAddress", email},
		{"IncomingMailServerAuthentication", "EmailAuthPassword"},
		{"IncomingMailServerHostName", sv.Hostname},
		{"IncomingMailServerPortNumber", inPort},
		{"IncomingMailServerUseSSL", inSSL},
		{"IncomingMailServerUsername", email},
		{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
		{"OutgoingMailServerHostName", sv.Hostname},
		{"OutgoingMailServerPortNumber", outPort},
		{"OutgoingMailServerUseSSL", outSSL},
		{"OutgoingMailServerUsername", email},
		{"OutgoingPasswordSameAsIncomingPassword", true},
		{"PayloadDescription", "Mail account " + email},
		{"PayloadDisplayName", email},
		{"PayloadIdentifier", ident + ".account"},
		{"PayloadType", "com.apple.mail.managed"},
		{"PayloadUUID", uuidFrom("account", sv.Hostname, email)},
		{"PayloadVersion", 1},
	}
	profile := plistDict{
		{"PayloadContent", []plistDict{account}},
		{"PayloadDescription", "Mail settings for " + email + " on " + sv.Hostname},
		{"PayloadDisplayName", "Mail: " + email},
		{"PayloadIdentifier", ident},
		{"PayloadOrganization", addr.Domain},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", uuidFrom("profile", sv.Hostname, email)},
		{"PayloadVersion", 1},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	if err := writePlist(&b, profile, 0); err != nil {
		return nil, err
	}
	b.WriteString("</plist>\n")
	return b.Bytes(), nil
}

// plistDict is an ordered property list dictionary.
type plistDict []struct {
	Key   string
	Value any
}

func writePlist(b *bytes.Buffer, v any, depth int) error {
	indent := strings.Repeat("\t", depth)
	esc := func(s string) string {
		var e bytes.Buffer
		xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	switch v := v.(type) {
	case string:
		fmt.Fprintf(b, "%s<string>%s</string>\n", indent, esc(v))
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", indent, v)
	case bool:
		if v {
			fmt.Fprintf(b, "%s<true/>\n", indent)
		} else {
			fmt.Fprintf(b, "%s<false/>\n", indent)
		}
	case []plistDict:
		fmt.Fprintf(b, "%s<array>\n", indent)
		for _, d := range v {
			if err := writePlist(b, d, depth+1); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "%s</array>\n", indent)
	case plistDict:
		fmt.Fprintf(b, "%s<dict>\n", indent)
		for _, kv := range v {
			fmt.Fprintf(b, "%s\t<key>%s</key>\n", indent, esc(kv.Key))
			if err := writePlist(b, kv.Value, depth+1); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "%s</dict>\n", indent)
	default:
		return fmt.Errorf("plist: unsupported value %T", v)
	}
	return nil
}

// uuidFrom returns a name-based UUID (version 5 layout over SHA-256) of
// the parts.
func uuidFrom(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// handleProfile serves the logged-in user's profile, over HTTPS only, with
// HTTP Basic authentication checked like an IMAP login.
func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	if s.opts.Auth == nil || r.TLS == nil {
		http.Error(w, "404 profiles are served over HTTPS only", http.StatusNotFound)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Mail account", charset="UTF-8"`)
		http.Error(w, "401 log in with your email address and password", http.StatusUnauthorized)
		return
	}
	var remote netip.Addr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		remote, _ = netip.ParseAddr(host)
	}
	u, err := s.opts.Auth.Login(r.Context(), remote.Unmap(), user, pass)
	if errors.Is(err, storage.ErrBusy) {
		s.log.Warn("login busy", "proto", "https", "user", user, "remote", remote.String())
		w.Header().Set("Retry-After", "5")
		http.Error(w, "503 too many logins in progress, try again later", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		if errors.Is(err, storage.ErrAuthFailed) || errors.Is(err, storage.ErrThrottled) {
			s.log.Warn("login failed", "proto", "https", "user", user, "remote", remote.String())
			w.Header().Set("WWW-Authenticate", `Basic realm="Mail account", charset="UTF-8"`)
			http.Error(w, "401 login failed", http.StatusUnauthorized)
			return
		}
		s.log.Error("login", "proto", "https", "user", user, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	s.log.Info("login", "proto", "https", "user", u.Address.String(), "remote", remote.String())
	body, err := s.opts.Services.MobileConfig(u.Address)
	if err != nil {
		http.Error(w, "500 "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="`+u.Address.Local+`.mobileconfig"`)
	w.Write(body)
}
