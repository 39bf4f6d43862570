package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestParseRights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		bad      bool
	}{
		{"lrswipkxtea", "lrswipkxtea", false},
		{"", "", false},
		{"aelr", "lrea", false},
		// RFC 4314 §2.1.1: d is e and t; c is k and x (§3.1 examples).
		{"lrswida", "lrswitea", false},
		{"cda", "kxtea", false},
		{"ddcc", "kxte", false},
		{"lrQswicda", "", true}, // RFC 4314 §3.1 example: BAD
		{"lrqswicda", "", true}, // RFC 4314 §3.1 example: BAD
		{"0", "", true},         // implementation-defined rights: none here
		{"l r", "", true},
		{"l\x80", "", true},
		{"+l", "", true},
	}
	for _, tt := range tests {
		got, err := ParseRights(tt.in)
		if tt.bad {
			if !IsSyntax(err) {
				t.Errorf("%q: got %q, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// Virtual rights in responses (RFC 4314 §2.1.1 examples).
	for in, want := range map[string]string{
		"lrswida":     "lrswiteda",
		"lrswikda":    "lrswiktecda",
		"rwipslxetad": "lrswipxtecda",
		"lrs":         "lrs",
		"k":           "kc",
		"e":           "ed",
	} {
		rs, err := ParseRights(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RightsString(rs); got != want {
			t.Errorf("RightsString(%q) = %q, want %q", in, got, want)
		}
		// Without the virtual rights (which clients ignore, §2.1.1) the
		// written rights are the set.
		plain := strings.NewReplacer("c", "", "d", "").Replace(RightsString(rs))
		if plain != string(rs) {
			t.Errorf("%q: wrote %q for %q", in, plain, rs)
		}
	}
}

func TestReadSetACLArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *SetACL // nil: want *SyntaxError
	}{
		// RFC 4314 §2.1.1, §3.1 examples.
		{" INBOX/Drafts David lrswida", &SetACL{Mailbox: "INBOX/Drafts", Identifier: "David",
			Modification: imap.RightModificationReplace, Rights: imap.RightSet("lrswitea")}},
		{" INBOX/Drafts Chris +cda", &SetACL{Mailbox: "INBOX/Drafts", Identifier: "Chris",
			Modification: imap.RightModificationAdd, Rights: imap.RightSet("kxtea")}},
		{` inbox "-Fred" -w`, &SetACL{Mailbox: "INBOX", Identifier: "-Fred",
			Modification: imap.RightModificationRemove, Rights: imap.RightSet("w")}},
		{` INBOX $team ""`, &SetACL{Mailbox: "INBOX", Identifier: "$team", Modification: imap.RightModificationReplace}},
		{` INBOX anyone "+"`, &SetACL{Mailbox: "INBOX", Identifier: "anyone", Modification: imap.RightModificationAdd}},

		{" INBOX/Drafts John lrQswicda", nil},
		{" INBOX/Drafts John lrqswicda", nil},
		{` INBOX "" lr`, nil}, // RFC 4314 §3: an empty identifier is BAD
		{" INBOX Fred", nil},
		{" INBOX Fred ", nil},
		{" INBOX Fred +-l", nil},
		{" INBOX Fred l r", nil},
		{" INBOX", nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, (*Reader).ReadSetACLArgs)
		if tt.want == nil {
			if !IsSyntax(err) {
				t.Errorf("%q: got %+v, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestReadDeleteACLArgs(t *testing.T) {
	t.Parallel()
	for _, read := range []func(*Reader) (string, imap.RightsIdentifier, error){(*Reader).ReadDeleteACLArgs, (*Reader).ReadListRightsArgs} {
		r := newTestReader(" ~/Mail/saved smith\r\n")
		mbox, id, err := read(r)
		if err == nil {
			err = r.ReadCRLF()
		}
		if err != nil || mbox != "~/Mail/saved" || id != "smith" {
			t.Errorf("got %q %q %v", mbox, id, err)
		}
		for _, in := range []string{" INBOX", ` INBOX ""`, " INBOX a b"} {
			r := newTestReader(in + "\r\n")
			_, _, err := read(r)
			if err == nil {
				err = r.ReadCRLF()
			}
			if !IsSyntax(err) {
				t.Errorf("%q: %v, want *SyntaxError", in, err)
			}
		}
	}
}

func TestWriteACL(t *testing.T) {
	t.Parallel()
	rights := func(s string) imap.RightSet {
		rs, err := ParseRights(s)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		{func(w *Writer) {
			w.ACL("INBOX/Drafts", []ACLEntry{{"Fred", rights("rwipslxetad")}, {"Chris", rights("lrswi")}})
		}, "* ACL INBOX/Drafts Fred lrswipxtecda Chris lrswi\r\n"},
		{func(w *Writer) { w.ACL("INBOX", nil) }, "* ACL INBOX\r\n"},
		{func(w *Writer) { w.ACL("INBOX", []ACLEntry{{"a b", nil}}) }, "* ACL INBOX \"a b\" \"\"\r\n"},
		// RFC 4314 §3.4 examples.
		{func(w *Writer) {
			w.ListRights("~/Mail/saved", "smith", imap.RightSet("la"), []imap.RightSet{imap.RightSet("r"), imap.RightSet("swicdkxte")})
		}, "* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"},
		{func(w *Writer) {
			w.ListRights("archive/imap", "anyone", nil, []imap.RightSet{imap.RightSet("l"), imap.RightSet("r"), imap.RightSet("s")})
		}, "* LISTRIGHTS archive/imap anyone \"\" l r s\r\n"},
		// RFC 4314 §3.5 example.
		{func(w *Writer) { w.MyRights("INBOX", rights("rwiptsldaex")) }, "* MYRIGHTS INBOX lrswipxtecda\r\n"},
		{func(w *Writer) { w.MyRights("Ünï", nil) }, "* MYRIGHTS &ANw-n&AO8- \"\"\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
}
