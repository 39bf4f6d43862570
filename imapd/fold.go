package imapd

import (
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// SEARCH compares strings case-insensitively (RFC 3501 §6.4.4, RFC 9051
// §6.4.4) after undoing the header's transfer encoding: a Subject or From
// sent as RFC 2047 encoded words ("=?iso-2022-jp?B?...?=") is searched as
// the text it stands for.

// decodeField returns a header field value with its RFC 2047 encoded
// words decoded, in any charset go-message knows (ISO-8859-x,
// windows-125x, KOI8, ISO-2022-JP, Shift_JIS, EUC-JP, GB18030, Big5,
// EUC-KR, ...). A value that does not decode is returned as it is.
func decodeField(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := d.DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}

// fieldContains reports whether a header field value holds folded (a
// fold result), decoded or as it is written.
func fieldContains(v, folded string) bool {
	if d := decodeField(v); d != v && strings.Contains(fold(d), folded) {
		return true
	}
	return strings.Contains(fold(v), folded)
}

// fold maps s to a form in which strings that differ only in case are
// equal: each character becomes the smallest of its Unicode simple case
// folding orbit (so "ß" stays "ß", and "ς", "σ" and "Σ" are all "Σ").
// fold(a) == fold(b) exactly when strings.EqualFold(a, b), for valid
// UTF-8; invalid bytes become U+FFFD.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(foldRune, s)
		}
	}
	// In ASCII the smallest of each orbit is the upper case letter
	// ("k" → "K", not the Kelvin sign U+212A).
	return strings.ToUpper(s)
}

func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
