package web

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Autodiscover POX namespaces ([MS-OXDSCLI]).
const (
	nsResponse        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// autodiscoverRequest is the POX request Outlook posts; namespaces are
// ignored when decoding.
type autodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

// AutodiscoverResponse is the POX answer.
type AutodiscoverResponse struct {
	XMLName  xml.Name             `xml:"Autodiscover"`
	Xmlns    string               `xml:"xmlns,attr"`
	Response AutodiscoverSettings `xml:"Response"`
}

// AutodiscoverSettings is the Response element: an Account, or an Error.
type AutodiscoverSettings struct {
	Xmlns   string               `xml:"xmlns,attr,omitempty"`
	User    *AutodiscoverUser    `xml:"User,omitempty"`
	Account *AutodiscoverAccount `xml:"Account,omitempty"`
	Error   *AutodiscoverError   `xml:"Error,omitempty"`
}

// AutodiscoverUser names the account.
type AutodiscoverUser struct {
	DisplayName string `xml:"DisplayName"`
}

// AutodiscoverAccount lists the protocols of an email account.
type AutodiscoverAccount struct {
	AccountType string                 `xml:"AccountType"` // "email"
	Action      string                 `xml:"Action"`      // "settings"
	Protocol    []AutodiscoverProtocol `xml:"Protocol"`
}

// AutodiscoverProtocol is one server. The trap: Outlook reads
// <Encryption>TLS</Encryption> as STARTTLS even on 993 or 465, so
// implicit-TLS ports get only <SSL>on</SSL>, and Encryption appears only
// for STARTTLS ports.
type AutodiscoverProtocol struct {
	Type           string `xml:"Type"` // "IMAP", "POP3", "SMTP"
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	DomainRequired string `xml:"DomainRequired"` // "off"
	LoginName      string `xml:"LoginName"`
	SPA            string `xml:"SPA"` // "off": no NTLM
	SSL            string `xml:"SSL"` // "on"
	Encryption     string `xml:"Encryption,omitempty"`
	AuthRequired   string `xml:"AuthRequired"` // "on"
	// UsePOPAuth tells Outlook to log in to SMTP like to IMAP/POP3.
	UsePOPAuth string `xml:"UsePOPAuth,omitempty"`
}

// AutodiscoverError is the error answer.
type AutodiscoverError struct {
	Time      string `xml:"Time,attr"`
	ID        string `xml:"Id,attr"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// Autodiscover error codes ([MS-OXDSCLI] 2.2.4.1.1.2.1.1).
const (
	adErrNoSuchAddress    = 500 // the email address can't be found
	adErrInvalidRequest   = 600
	adErrSchemaNotOffered = 601 // the requested response schema is not available
)

// Autodiscover returns the POX account settings for addr: one IMAP and
// one SMTP server, implicit TLS preferred (Outlook takes the first of
// each type).
func (sv Services) Autodiscover(addr string) AutodiscoverAccount {
	proto := func(typ string, port int, starttls bool) AutodiscoverProtocol {
		p := AutodiscoverProtocol{Type: typ, Server: sv.Hostname, Port: port, DomainRequired: "off",
			LoginName: addr, SPA: "off", SSL: "on", AuthRequired: "on"}
		if starttls {
			p.Encryption = "TLS"
		}
		if typ == "SMTP" {
			p.UsePOPAuth = "on"
		}
		return p
	}
	acct := AutodiscoverAccount{AccountType: "email", Action: "settings"}
	switch {
	case sv.IMAPS != 0:
		acct.Protocol = append(acct.Protocol, proto("IMAP", sv.IMAPS, false))
	case sv.IMAP != 0:
		acct.Protocol = append(acct.Protocol, proto("IMAP", sv.IMAP, true))
	case sv.POP3S != 0:
		acct.Protocol = append(acct.Protocol, proto("POP3", sv.POP3S, false))
	case sv.POP3 != 0:
		acct.Protocol = append(acct.Protocol, proto("POP3", sv.POP3, true))
	}
	switch {
	case sv.Submissions != 0:
		acct.Protocol = append(acct.Protocol, proto("SMTP", sv.Submissions, false))
	case sv.Submission != 0:
		acct.Protocol = append(acct.Protocol, proto("SMTP", sv.Submission, true))
	}
	return acct
}

// handleAutodiscover answers Outlook's POX request. Errors are answered
// with 200 and an Error element, as Exchange does: Outlook reads the body.
func (s *Server) handleAutodiscover(w http.ResponseWriter, r *http.Request) {
	var req autodiscoverRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = xml.Unmarshal(body, &req)
	}
	if err != nil || req.Request.EMailAddress == "" {
		s.log.Info("autodiscover: invalid request", "err", err)
		s.autodiscoverError(w, adErrInvalidRequest, "Invalid Request")
		return
	}
	if schema := strings.TrimSpace(req.Request.AcceptableResponseSchema); schema != "" && schema != nsOutlookResponse {
		s.autodiscoverError(w, adErrSchemaNotOffered, "Provider is not available")
		return
	}
	a, err := s.lookup(r.Context(), req.Request.EMailAddress)
	if err != nil {
		s.log.Info("autodiscover lookup failed", "address", req.Request.EMailAddress, "err", err)
		if errors.Is(err, errNotLocal) || errors.Is(err, errBadAddress) {
			s.autodiscoverError(w, adErrNoSuchAddress, "The e-mail address cannot be found.")
			return
		}
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	acct := s.opts.Services.Autodiscover(a.String())
	writeXML(w, http.StatusOK, "application/xml", AutodiscoverResponse{Xmlns: nsResponse, Response: AutodiscoverSettings{
		Xmlns:   nsOutlookResponse,
		User:    &AutodiscoverUser{DisplayName: a.String()},
		Account: &acct,
	}})
}

func (s *Server) autodiscoverError(w http.ResponseWriter, code int, msg string) {
	now := time.Now()
	writeXML(w, http.StatusOK, "application/xml", AutodiscoverResponse{Xmlns: nsResponse, Response: AutodiscoverSettings{
		Error: &AutodiscoverError{Time: now.Format("15:04:05.0000000"), ID: strconv.FormatInt(now.UnixNano()&0x7fffffff, 10),
			ErrorCode: code, Message: msg},
	}})
}

// handleAutodiscoverJSON answers Outlook's v2 lookup (used by Outlook
// for Microsoft 365 and mobile Outlook): for Protocol=AutodiscoverV1 it
// names the POX endpoint on the mail host name; other protocols
// (ActiveSync, EWS) are not offered.
func (s *Server) handleAutodiscoverJSON(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if email == "" {
		email = r.URL.Query().Get("Email")
	}
	protocol := r.URL.Query().Get("Protocol")
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if !strings.EqualFold(protocol, "AutodiscoverV1") {
		writeJSON(http.StatusBadRequest, map[string]string{"ErrorCode": "ProtocolNotSupported",
			"ErrorMessage": "The given protocol value '" + protocol + "' is invalid. Supported values are 'AutodiscoverV1'"})
		return
	}
	if _, err := s.lookup(r.Context(), email); err != nil {
		s.log.Info("autodiscover lookup failed", "address", email, "err", err)
		if errors.Is(err, errNotLocal) || errors.Is(err, errBadAddress) {
			writeJSON(http.StatusNotFound, map[string]string{"ErrorCode": "UserNotFound", "ErrorMessage": "The e-mail address cannot be found."})
			return
		}
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(http.StatusOK, map[string]string{"Protocol": "AutodiscoverV1",
		"Url": "https://" + s.opts.Services.Hostname + "/autodiscover/autodiscover.xml"})
}
