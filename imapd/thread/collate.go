package thread

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// casemap maps s to its i;unicode-casemap key (RFC 5051 §2), the
// collation RFC 5256 §7 requires for SORT and THREAD (the rules of
// I18NLEVEL=1, RFC 5255): each character is replaced by its titlecase
// mapping, then by its full canonical decomposition; two strings collate
// in the octet order of their keys, and are equal when the keys are.
// For ASCII this is upper-casing, which i;ascii-casemap (RFC 4790 §9.2)
// also gives. Bytes that are not UTF-8 are kept as they are.
func casemap(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s)
	}
	b := make([]byte, 0, len(s)+len(s)/2)
	var enc [utf8.UTFMax]byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[i])
			i++
			continue
		}
		i += size
		n := utf8.EncodeRune(enc[:], unicode.ToTitle(r))
		b = norm.NFD.Append(b, enc[:n]...)
	}
	return string(b)
}
