package wire

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 for mailbox names, RFC 3501 §5.1.3: printable US-ASCII
// except "&" stands for itself, "&" is "&-", and any other run of
// characters is UTF-16BE in modified base64 (",", not "/", no padding)
// between "&" and "-".

// mutf7 is the modified base64 alphabet; Strict rejects non-zero pad bits.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").
	WithPadding(base64.NoPadding).Strict()

func isModBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == ','
}

func isPrintable(r rune) bool { return r >= 0x20 && r <= 0x7e }

// DecodeUTF7 decodes a modified UTF-7 mailbox name strictly: it refuses
// bytes outside printable US-ASCII, an "&" without its "-", bad base64,
// a partial UTF-16 unit, unpaired surrogates, and non-canonical forms
// (printable ASCII inside a shift, an empty shift other than "&-", and two
// shifts in a row that should have been one), so that
// EncodeUTF7(DecodeUTF7(s)) == s for every s it accepts.
func DecodeUTF7(s string) (string, error) {
	var sb strings.Builder
	afterShift := false // the previous token was a base64 shift
	for i := 0; i < len(s); {
		c := s[i]
		if c != '&' {
			if !isPrintable(rune(c)) {
				return "", errors.New("non-ASCII or control byte in modified UTF-7")
			}
			sb.WriteByte(c)
			i++
			afterShift = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errors.New("unterminated '&' in modified UTF-7")
		}
		b64 := s[i+1 : i+1+end]
		i += end + 2
		if b64 == "" {
			sb.WriteByte('&')
			afterShift = false
			continue
		}
		if afterShift {
			return "", errors.New("adjacent shifts in modified UTF-7")
		}
		afterShift = true
		// Check the alphabet first: encoding/base64 skips CR and LF.
		for j := 0; j < len(b64); j++ {
			if !isModBase64(b64[j]) {
				return "", errors.New("bad base64 in modified UTF-7")
			}
		}
		raw, err := mutf7.DecodeString(b64)
		if err != nil || len(raw)%2 != 0 {
			return "", errors.New("bad base64 in modified UTF-7")
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for j := 0; j < len(units); j++ {
			u := rune(units[j])
			switch {
			case utf16.IsSurrogate(u):
				if u >= 0xdc00 || j+1 >= len(units) {
					return "", errors.New("unpaired surrogate in modified UTF-7")
				}
				r := utf16.DecodeRune(u, rune(units[j+1]))
				if r == utf8.RuneError {
					return "", errors.New("unpaired surrogate in modified UTF-7")
				}
				sb.WriteRune(r)
				j++
			case isPrintable(u):
				return "", errors.New("printable ASCII encoded in modified UTF-7")
			default:
				sb.WriteRune(u)
			}
		}
	}
	return sb.String(), nil
}

// EncodeUTF7 encodes a mailbox name in modified UTF-7. Invalid UTF-8 is
// encoded as U+FFFD.
func EncodeUTF7(s string) string {
	var sb strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		raw := make([]byte, 2*len(run))
		for i, u := range run {
			raw[2*i], raw[2*i+1] = byte(u>>8), byte(u)
		}
		sb.WriteByte('&')
		sb.WriteString(mutf7.EncodeToString(raw))
		sb.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if isPrintable(r) {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		run = utf16.AppendRune(run, r)
	}
	flush()
	return sb.String()
}
