package senderauth

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/emersion/go-msgauth/dmarc"
)

// FuzzHeaderFrom feeds arbitrary messages to ParseAuthors and Author
// (through headerFromDomain: the RFC5322.From DMARC aligns against, and
// the fields submission checks) and the strings they return to the
// alignment helpers, and arbitrary Authentication-Results values to IsOurs.
func FuzzHeaderFrom(f *testing.F) {
	for _, s := range []string{
		"From: a@example.com\r\n\r\nbody",
		"From: \"A\" <a@Sub.Example.COM.>\r\n\r\n",
		"From: a@example.com, b@example.com\r\n\r\n",
		"From: a@example.com, b@example.org\r\n\r\n",
		"From: a@example.com\r\nFrom: b@example.com\r\n\r\n",
		"From: undisclosed\r\n\r\n",
		"From: =?utf-8?q?x?= <a@b.co.uk>\n\n",
		"From: a@\r\n\r\n",
		"From: group: a@example.com, b@example.com;\r\n\r\n",
		"Subject: x\r\n\r\n",
		"From: a@[127.0.0.1]\r\n\r\n",
		"From: a@example.com\r\nSender: b@example.org\r\nResent-From: c@x.example\r\nResent-Sender: d@y.example\r\n\r\n",
		"From: a@example.com\r\nSender: <broken\r\n\r\n",
		"From: a@localhost\r\n\r\n",
		"From: a@1.2.3.4\r\n\r\n",
		"From: \r\n\r\n",
		"From: a@b\xc3\xbccher.example\r\n\r\n",
		"",
	} {
		f.Add([]byte(s), "mx.example.com; spf=pass smtp.mailfrom=example.com")
	}
	f.Add([]byte("From: a@example.com\r\n\r\n"), "mx.example.com.")
	f.Add([]byte("From: a@example.com\r\n\r\n"), ";;; \t")
	f.Fuzz(func(t *testing.T, msg []byte, ar string) {
		d, err := headerFromDomain(strings.NewReader(string(msg)))
		var ae *AuthorError
		if err != nil && (!errors.As(err, &ae) || ae.Reason == "" || strings.ContainsAny(ae.Reason, "\r\n") || len(ae.Reason) > 200) {
			t.Fatalf("headerFromDomain(%q): error %v is not an AuthorError with a one-line reason", msg, err)
		}
		if err == nil {
			if u, ok := UsableDomain(d); !ok || u != d {
				t.Fatalf("headerFromDomain(%q) = %q: not a usable domain (%q, %v)", msg, d, u, ok)
			}
		}
		if h, herr := textproto.ReadHeader(bufio.NewReader(strings.NewReader(string(msg)))); herr == nil {
			a, aerr := ParseAuthors(h)
			if aerr == nil {
				if a.FromFields < 0 || len(a.From) > maxAuthorAddresses || len(a.Sender) > maxAuthorAddresses ||
					len(a.ResentFrom) > maxAuthorAddresses || len(a.ResentSender) > maxAuthorAddresses {
					t.Fatalf("ParseAuthors(%q) = %+v: unbounded", msg, a)
				}
				addr, ad, aerr := a.Author()
				if aerr == nil && (a.FromFields != 1 || len(a.From) != 1 || addr != a.From[0] || ad != d) {
					t.Fatalf("Author(%q) = %v, %q; headerFromDomain %q", msg, addr, ad, d)
				}
			}
		}
		if err == nil {
			if d != strings.ToLower(d) || strings.HasSuffix(d, ".") && d != "." && !strings.HasSuffix(d, "..") {
				t.Fatalf("headerFromDomain(%q) = %q: not lower-case / trailing dot", msg, d)
			}
		}
		for _, id := range []string{d, domainOf(ar), ar} {
			s := aligned(id, d, dmarc.AlignmentStrict)
			r := aligned(id, d, dmarc.AlignmentRelaxed)
			if s && !r {
				t.Fatalf("aligned(%q, %q): strict but not relaxed", id, d)
			}
			if aligned(d, id, dmarc.AlignmentRelaxed) != r || aligned(d, id, dmarc.AlignmentStrict) != s {
				t.Fatalf("aligned(%q, %q) not symmetric", id, d)
			}
			if id != "" && d != "" && strings.EqualFold(strings.TrimSuffix(id, "."), strings.TrimSuffix(d, ".")) && !s {
				t.Fatalf("aligned(%q, %q): equal domains not strictly aligned", id, d)
			}
			// Idempotence holds for names without empty labels; for
			// "x.." each call trims one more dot, which alignment does
			// not care about (both sides go through orgDomain once).
			o := orgDomain(id)
			if !strings.Contains(id, "..") && !strings.HasPrefix(id, ".") && orgDomain(o) != o {
				t.Fatalf("orgDomain not idempotent: %q -> %q -> %q", id, o, orgDomain(o))
			}
		}
		if isDotAtom(ar) && !IsOurs(ar+"; spf=pass smtp.mailfrom=example.com", ar) {
			t.Fatalf("IsOurs(%q, %q) = false", ar+"; spf=pass", ar)
		}
		// RFC 8601 §2.2: authres-header = [CFWS] authserv-id ...; a
		// forged field whose authserv-id follows a comment is still ours
		// and must be recognised (§5) so that it is removed.
		if isCommentText(ar) {
			v := "(" + ar + ") mx.example.com; dkim=pass header.d=example.com"
			if !IsOurs(v, "mx.example.com") {
				t.Fatalf("IsOurs(%q, %q) = false: forged field with a leading comment kept", v, "mx.example.com")
			}
		}
		if s := sanitize(ar); len(s) > 200 {
			t.Fatalf("sanitize: %d bytes", len(s))
		}
	})
}

// isDotAtom reports an RFC 5322 dot-atom made of letters, digits, '-'.
func isDotAtom(s string) bool {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// isCommentText reports printable ASCII with no parentheses or backslash:
// valid ctext (RFC 5322 §3.2.2) with spaces.
func isCommentText(s string) bool {
	for _, r := range s {
		if r < ' ' || r > '~' || r == '(' || r == ')' || r == '\\' {
			return false
		}
	}
	return true
}
