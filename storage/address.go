package storage

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits on address sizes (RFC 5321 §4.5.3.1).
const (
	maxLocalLen   = 64
	maxAddressLen = 254
	maxDomainLen  = 253
	maxLabelLen   = 63
)

// Address is a normalised mail address: Local is lower-cased, Domain is the
// lower-case ASCII (IDNA) form without a trailing dot. Local holds the
// decoded content of a quoted local part, without quotes or escapes.
type Address struct {
	Local  string
	Domain string
}

// String returns the address as local@domain, quoting the local part when
// it is not a dot-atom. ParseAddress(a.String()) returns a again.
func (a Address) String() string {
	return formatLocal(a.Local) + "@" + a.Domain
}

// ParseAddress parses and normalises "local@domain" (no angle brackets, no
// display name). Surrounding white space is removed; nothing else is
// silently dropped. The address is split at the last '@'. The local part is
// a dot-atom or a quoted string (RFC 5322 §3.4.1), UTF-8 letters are
// allowed (RFC 6531), and it is lower-cased. The domain goes through
// NormalizeDomain.
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, errors.New("address \"\": empty")
	}
	if !utf8.ValidString(s) {
		return Address{}, fmt.Errorf("address %q: invalid UTF-8", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return Address{}, fmt.Errorf("address %q: missing @", s)
	}
	rawLocal, rawDomain := s[:at], s[at+1:]
	if rawLocal == "" {
		return Address{}, fmt.Errorf("address %q: empty local part", s)
	}
	domain, err := NormalizeDomain(rawDomain)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %w", s, err)
	}
	var local string
	if strings.HasPrefix(rawLocal, `"`) {
		local, err = parseQuotedLocal(rawLocal)
	} else {
		local, err = parseDotAtom(rawLocal)
	}
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %w", s, err)
	}
	local = strings.ToLower(local)
	// Lower-casing may change the byte length or produce a string that
	// needs different quoting, so the limits apply to the final form.
	if err := checkLocalContent(local); err != nil {
		return Address{}, fmt.Errorf("address %q: %w", s, err)
	}
	a := Address{Local: local, Domain: domain}
	if n := len(formatLocal(local)); n > maxLocalLen {
		return Address{}, fmt.Errorf("address %q: local part is %d octets, limit %d", s, n, maxLocalLen)
	}
	if n := len(a.String()); n > maxAddressLen {
		return Address{}, fmt.Errorf("address %q: %d octets, limit %d", s, n, maxAddressLen)
	}
	return a, nil
}

// isAtext reports whether r may appear in a dot-atom (RFC 5322 atext, plus
// non-ASCII letters, digits and marks as RFC 6531 allows).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r < utf8.RuneSelf:
		return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
	default:
		return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
	}
}

// isQtext reports whether r may appear in a quoted local part after
// unescaping: printable ASCII including space, and graphic non-ASCII.
func isQtext(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 0x20 && r < 0x7f
	}
	return unicode.IsGraphic(r)
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

func parseDotAtom(s string) (string, error) {
	switch {
	case s[0] == '.' || s[len(s)-1] == '.':
		return "", errors.New("local part starts or ends with '.'")
	case strings.Contains(s, ".."):
		return "", errors.New("local part contains \"..\"")
	}
	for _, r := range s {
		if r != '.' && !isAtext(r) {
			return "", fmt.Errorf("local part contains %q (quote it)", r)
		}
	}
	return s, nil
}

func parseQuotedLocal(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", errors.New("unterminated quoted local part")
	}
	inner := s[1 : len(s)-1]
	var b strings.Builder
	escaped := false
	for _, r := range inner {
		switch {
		case escaped:
			if !isQtext(r) {
				return "", fmt.Errorf("invalid quoted-pair %q", r)
			}
			b.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			return "", errors.New("unescaped '\"' in quoted local part")
		case !isQtext(r):
			return "", fmt.Errorf("invalid character %q in quoted local part", r)
		default:
			b.WriteRune(r)
		}
	}
	if escaped {
		return "", errors.New("quoted local part ends with '\\'")
	}
	if b.Len() == 0 {
		return "", errors.New("empty local part")
	}
	return b.String(), nil
}

// checkLocalContent validates a decoded local part.
func checkLocalContent(local string) error {
	if local == "" {
		return errors.New("empty local part")
	}
	for _, r := range local {
		if !isQtext(r) {
			return fmt.Errorf("invalid character %q in local part", r)
		}
	}
	return nil
}

// formatLocal returns local as a dot-atom if possible, else as a quoted
// string with '"' and '\' escaped.
func formatLocal(local string) string {
	if isDotAtom(local) {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range local {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// NormalizeDomain returns the canonical form of a domain name: IDNA
// (UTS #46 lookup profile) converted to ASCII, lower-case, without a
// trailing dot, every label LDH and 1..63 octets, the whole at most 253
// octets. IP literals ("[1.2.3.4]") and bare IP addresses are refused.
func NormalizeDomain(s string) (string, error) {
	if s == "" {
		return "", errors.New("domain \"\": empty")
	}
	if strings.HasPrefix(s, "[") {
		return "", fmt.Errorf("domain %q: IP literals are not accepted", s)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", fmt.Errorf("domain %q: IP addresses are not accepted", s)
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return "", fmt.Errorf("domain %q: empty", s)
	}
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", s, err)
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > maxDomainLen {
		return "", fmt.Errorf("domain %q: %d octets, limit %d", s, len(ascii), maxDomainLen)
	}
	if _, err := netip.ParseAddr(ascii); err == nil {
		return "", fmt.Errorf("domain %q: IP addresses are not accepted", s)
	}
	for label := range strings.SplitSeq(ascii, ".") {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("domain %q: %w", s, err)
		}
	}
	return ascii, nil
}

func checkLabel(label string) error {
	if label == "" {
		return errors.New("empty label")
	}
	if len(label) > maxLabelLen {
		return fmt.Errorf("label %q longer than %d octets", label, maxLabelLen)
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("label %q contains %q", label, c)
		}
	}
	return nil
}

// ValidAccountLocal checks a local part that names an account directory:
// after lower-casing only [a-z0-9._-], 1..64 octets, no leading or trailing
// '.', no "..". '+' is reserved for plus-addressing.
func ValidAccountLocal(local string) error {
	l := strings.ToLower(local)
	switch {
	case l == "":
		return errors.New("account name: empty local part")
	case len(l) > maxLocalLen:
		return fmt.Errorf("account name %q: longer than %d octets", local, maxLocalLen)
	case strings.Contains(l, "+"):
		return fmt.Errorf("account name %q: '+' is reserved for plus-addressing", local)
	case l[0] == '.' || l[len(l)-1] == '.':
		return fmt.Errorf("account name %q: starts or ends with '.'", local)
	case strings.Contains(l, ".."):
		return fmt.Errorf("account name %q: contains \"..\"", local)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("account name %q: invalid character %q (allowed: a-z 0-9 . _ -)", local, c)
		}
	}
	return nil
}
