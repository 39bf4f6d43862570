package senderauth

import (
	"fmt"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Authors are the originator fields of a message header (RFC 5322
// §3.6.2, resent fields §3.6.6). Both the port 25 checks (the DMARC
// author domain) and the submission sender policy (who may be named as
// author) read them through ParseAuthors, so the two judge one message
// the same way.
type Authors struct {
	// From holds the addresses of every From: field, in order;
	// FromFields counts the fields (RFC 5322 allows exactly one).
	From       []*mail.Address
	FromFields int
	// Sender holds the addresses of every Sender: field (at most one
	// field with one address is valid).
	Sender       []*mail.Address
	SenderFields int
	// ResentFrom and ResentSender hold the addresses of every
	// Resent-From: and Resent-Sender: field (one block per resending).
	ResentFrom, ResentSender []*mail.Address
}

// AuthorError says why a message's author cannot be established. Reason
// is fixed text fit for an SMTP reply (it never echoes the header);
// Err, when set, holds the parser's detail for the log.
type AuthorError struct {
	Reason string
	Err    error
}

func (e *AuthorError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *AuthorError) Unwrap() error { return e.Err }

// maxAuthorAddresses bounds the addresses kept per field name: a header
// of thousands of From addresses is refused, not expanded.
const maxAuthorAddresses = 100

// ParseAuthors reads the From, Sender, Resent-From and Resent-Sender
// fields of h. A field that does not parse as an address list (RFC 5322
// §3.4), or more than maxAuthorAddresses addresses under one name, is an
// *AuthorError naming the field.
func ParseAuthors(h textproto.Header) (Authors, error) {
	var a Authors
	var err error
	if a.From, a.FromFields, err = parseField(h, "From"); err != nil {
		return Authors{}, err
	}
	if a.Sender, a.SenderFields, err = parseField(h, "Sender"); err != nil {
		return Authors{}, err
	}
	if a.ResentFrom, _, err = parseField(h, "Resent-From"); err != nil {
		return Authors{}, err
	}
	if a.ResentSender, _, err = parseField(h, "Resent-Sender"); err != nil {
		return Authors{}, err
	}
	return a, nil
}

func parseField(h textproto.Header, key string) ([]*mail.Address, int, error) {
	var out []*mail.Address
	n := 0
	for f := h.FieldsByKey(key); f.Next(); {
		n++
		v := f.Value()
		if strings.TrimSpace(v) == "" {
			continue // an empty field names no one
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, 0, &AuthorError{Reason: key + ": field does not parse as an address list", Err: err}
		}
		for _, a := range list {
			if a == nil || a.Address == "" {
				continue
			}
			out = append(out, a)
		}
		if len(out) > maxAuthorAddresses {
			return nil, 0, &AuthorError{Reason: fmt.Sprintf("%s: more than %d addresses", key, maxAuthorAddresses)}
		}
	}
	return out, n, nil
}

// Author returns the message's one author and that address's domain
// (lower-case, A-labels, no trailing dot): the RFC5322.From identity
// DMARC evaluates (RFC 7489 §3.1). The message must have exactly one
// From field (RFC 5322 §3.6) holding exactly one address whose domain is
// a DNS name below a public suffix; otherwise the error, an
// *AuthorError, says what is wrong (RFC 7489 §6.6.1 lets receivers
// refuse such messages, and Yubin does: a second From or an unusable one
// would let a forged author past DMARC).
func (a Authors) Author() (*mail.Address, string, error) {
	switch {
	case a.FromFields == 0:
		return nil, "", &AuthorError{Reason: "Message has no From: field (RFC 5322 section 3.6)"}
	case a.FromFields > 1:
		return nil, "", &AuthorError{Reason: fmt.Sprintf("Message has %d From: fields; RFC 5322 section 3.6 allows one", a.FromFields)}
	case len(a.From) == 0:
		return nil, "", &AuthorError{Reason: "From: field names no address"}
	case len(a.From) > 1:
		return nil, "", &AuthorError{Reason: "From: field names more than one address"}
	}
	addr := a.From[0]
	i := strings.LastIndexByte(addr.Address, '@')
	if i < 0 {
		return nil, "", &AuthorError{Reason: "From: address has no domain"}
	}
	d, ok := UsableDomain(addr.Address[i+1:])
	if !ok {
		return nil, "", &AuthorError{Reason: "From: address has no usable domain"}
	}
	return addr, d, nil
}

// UsableDomain returns d normalised (lower-case A-labels, no trailing
// dot) when it is a DNS name a DMARC policy can be looked up for: not an
// address literal, a valid IDNA name of at most 253 octets, with a
// non-numeric top label and at least one label below its public suffix.
func UsableDomain(d string) (string, bool) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || strings.HasPrefix(d, "[") {
		return "", false
	}
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || len(ascii) > 253 || !strings.Contains(ascii, ".") {
		return "", false
	}
	ascii = strings.ToLower(ascii)
	for _, l := range strings.Split(ascii, ".") {
		if l == "" || len(l) > 63 {
			return "", false
		}
	}
	top := ascii[strings.LastIndexByte(ascii, '.')+1:]
	if strings.Trim(top, "0123456789") == "" {
		return "", false // an IP address written as a name
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(ascii); err != nil {
		return "", false
	}
	return ascii, true
}
