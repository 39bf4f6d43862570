package storage

import "testing"

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"user@example.com",
		"User+Tag@Example.COM.",
		`"john doe"@example.com`,
		`"a\"b\\c"@example.com`,
		`"a@b"@example.com`,
		"Jürgen@BÜCHER.example",
		"用户@例子.example",
		"!#$%&'*+-/=?^_`{|}~@example.com",
		"a@[127.0.0.1]",
		"a..b@example.com",
		"@example.com",
		"a@xn--bcher-kva.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.String())
		if err != nil {
			t.Fatalf("ParseAddress(%q) = %q, but reparsing fails: %v", s, a, err)
		}
		if a != b {
			t.Fatalf("ParseAddress(%q) = %#v, reparsed %#v", s, a, b)
		}
		if len(a.String()) > maxAddressLen {
			t.Fatalf("ParseAddress(%q) = %q, longer than %d", s, a, maxAddressLen)
		}
	})
}
