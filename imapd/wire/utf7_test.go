package wire

import (
	"testing"
	"unicode/utf8"
)

func TestUTF7(t *testing.T) {
	t.Parallel()
	good := []struct{ enc, dec string }{
		{"INBOX", "INBOX"},
		{"&-", "&"},
		{"Tom &- Jerry", "Tom & Jerry"},
		// RFC 3501 §5.1.3 example.
		{"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"},
		{"&AOQ-", "ä"},
		{"Entw&APw-rfe", "Entwürfe"},
		{"&2D3eAA-", "😀"},     // surrogate pair
		{"&AAk-", "\t"},       // control characters are shifted
		{"&AOQA5A-", "ää"},    // one shift for a run
		{"a&AOQ-&-b", "aä&b"}, // a shift followed by "&-"
		{"", ""},
	}
	for _, g := range good {
		d, err := DecodeUTF7(g.enc)
		if err != nil || d != g.dec {
			t.Errorf("DecodeUTF7(%q) = %q, %v; want %q", g.enc, d, err, g.dec)
		}
		if e := EncodeUTF7(g.dec); e != g.enc {
			t.Errorf("EncodeUTF7(%q) = %q, want %q", g.dec, e, g.enc)
		}
	}
	bad := []string{
		"&",          // not closed
		"&AOQ",       // not closed
		"&AGE-",      // "a" shifted: non-canonical
		"&AOQ-&AOQ-", // two shifts in a row
		"&2D0-",      // lone high surrogate
		"&3gA-",      // lone low surrogate
		"&2D3YPQ-",   // high followed by high
		"&AO-",       // partial unit
		"&AOR-",      // non-zero pad bits
		"&AO/k-",     // "/" is not modified base64
		"&AOQ=-",     // padding
		"&AOQ\n-",    // encoding/base64 would skip the LF
		"b\xc3\xa4r", // bare 8-bit
		"a\tb",       // bare control
		"a\x7fb",
	}
	for _, b := range bad {
		if d, err := DecodeUTF7(b); err == nil {
			t.Errorf("DecodeUTF7(%q) = %q, want error", b, d)
		}
	}
}

// FuzzUTF7 checks the round trips both ways and that Decode only accepts
// the canonical encoding.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "&-", "&U,BTFw-", "&2D3eAA-", "Entw&APw-rfe", "&AGE-", "ä😀&x", "&2D0-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := DecodeUTF7(s); err == nil {
			if !utf8.ValidString(d) {
				t.Fatalf("DecodeUTF7(%q) = %q: not UTF-8", s, d)
			}
			if e := EncodeUTF7(d); e != s {
				t.Fatalf("DecodeUTF7(%q) = %q, which encodes as %q", s, d, e)
			}
		}
		if utf8.ValidString(s) {
			e := EncodeUTF7(s)
			d, err := DecodeUTF7(e)
			if err != nil || d != s {
				t.Fatalf("EncodeUTF7(%q) = %q, decodes as %q, %v", s, e, d, err)
			}
		}
	})
}
