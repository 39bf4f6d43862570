package thread

import (
	"strings"
	"testing"
)

func TestBaseSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		base  string
		reply bool
	}{
		{"", "", false},
		{"foo", "foo", false},
		{"  foo   bar  ", "foo bar", false},
		{"foo\r\n\tbar", "foo bar", false},
		{"foo\t\tbar", "foo bar", false},
		// subj-refwd, any case, with *WSP and an optional blob before ":"
		{"Re: foo", "foo", true},
		{"RE: Re: re: foo", "foo", true},
		{"Fwd: foo", "foo", true},
		{"FW: foo", "foo", true},
		{"fwd : foo", "foo", true},
		{"Re[2]: foo", "foo", true},
		{"Re [2]: foo", "foo", true},
		{"Re:foo", "foo", true},
		{"Re:", "", true},
		{"Ref: foo", "Ref: foo", false},
		{"Rebuild: foo", "Rebuild: foo", false},
		{"Re foo", "Re foo", false},
		// subj-blob before a subj-refwd, and alone
		{"[PATCH] Re: foo", "foo", true},
		{"[list] [PATCH] Re: [other] Fwd: foo", "foo", true},
		{"[PATCH] foo", "foo", false},
		{"[a][b] foo", "foo", false},
		{"[PATCH]", "[PATCH]", false},
		{"[a] [b]", "[b]", false},
		{"[a] [b] ", "[b]", false},
		{"[a", "[a", false},
		{"[日本] foo", "foo", false}, // UTF-8 in a blob, see the package doc
		// subj-trailer
		{"foo (fwd)", "foo", true},
		{"foo (FWD) (fwd)  ", "foo", true},
		{"foo(fwd)", "foo", true},
		{"Re: (fwd)", "", true},
		// subj-fwd-hdr and subj-fwd-trl, repeated from step (2)
		{"[fwd: foo]", "foo", true},
		{"[Fwd: Re: foo (fwd)]", "foo", true},
		{"Re: [fwd: [FWD: foo]]", "foo", true},
		{"[fwd: foo] bar", "bar", false},
		{"[fwd: ]", "", true},
		{"[fwd: [a] ]", "[a]", true},
		// RFC 2047 (step 1), then the rules on the decoded text
		{"=?utf-8?q?Re:_caf=C3=A9?=", "café", true},
		{"=?iso-8859-1?q?caf=E9?= (fwd)", "café", true},
		{"Re: =?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?=", "てすと", true},
		{"=?x-unknown?q?abc?=", "=?x-unknown?q?abc?=", false},
	}
	for _, tt := range tests {
		base, reply := ParseSubject(tt.in)
		if base != tt.base || reply != tt.reply {
			t.Errorf("ParseSubject(%q) = %q, %v; want %q, %v", tt.in, base, reply, tt.base, tt.reply)
		}
		if slow, slowReply := slowBaseSubject(tt.in); slow != base || slowReply != reply {
			t.Errorf("slowBaseSubject(%q) = %q, %v; ParseSubject gave %q, %v", tt.in, slow, slowReply, base, reply)
		}
	}
}

// slowBaseSubject is RFC 5256 §2.1 written as literally as possible, one
// match per step, for comparison with ParseSubject (which removes runs
// of blobs at once).
func slowBaseSubject(s string) (string, bool) {
	reply := false
	s = normalizeSpace(decodeWords(s))
	for {
		for { // (2)
			if strings.HasSuffix(s, " ") {
				s = s[:len(s)-1]
			} else if len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)") {
				s, reply = s[:len(s)-5], true
			} else {
				break
			}
		}
		for { // (3) (4) (5)
			if strings.HasPrefix(s, " ") {
				s = s[1:]
				continue
			}
			if n := slowLeader(s); n > 0 {
				s, reply = s[n:], true
				continue
			}
			if n := blobLen(s); n > 0 && n < len(s) {
				s = s[n:]
				continue
			}
			break
		}
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && strings.HasSuffix(s, "]") { // (6)
			s, reply = s[5:len(s)-1], true
			continue
		}
		return s, reply
	}
}

func slowLeader(s string) int {
	i := 0
	for {
		if n := refwdLen(s[i:]); n > 0 {
			return i + n
		}
		n := blobLen(s[i:])
		if n == 0 {
			return 0
		}
		i += n
	}
}

func TestBaseSubjectManyBlobs(t *testing.T) {
	t.Parallel()
	// Removing one blob at a time and rescanning the run for a subj-refwd
	// each time would take quadratic time here.
	s := strings.Repeat("[x] ", 200_000)
	if got := BaseSubject(s + "foo"); got != "foo" {
		t.Errorf("got %.20q", got)
	}
	if got := BaseSubject(s); got != "[x]" {
		t.Errorf("got %.20q", got)
	}
	if got := BaseSubject(s + "Re: foo"); got != "foo" {
		t.Errorf("got %.20q", got)
	}
	if got := BaseSubject(strings.Repeat("[fwd: ", 100_000) + "x" + strings.Repeat("]", 100_000)); got != "x" {
		t.Errorf("got %.20q", got)
	}
}

func TestParseMsgIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"<a@b>", []string{"a@b"}},
		{"<a@b> <c@d>\r\n <e@f>", []string{"a@b", "c@d", "e@f"}},
		{"<a@b><c@d>", []string{"a@b", "c@d"}},
		{`"Joe" <a@b> (comment)`, []string{"a@b"}},
		{"<a@\r\n b>", []string{"a@b"}},
		{"<x <a@b>", []string{"a@b"}},
		{"<a@b> <unterminated", []string{"a@b"}},
		{"<>", nil},
		// RFC 5256 §3: quoting is normalized away
		{`<"01KF8JCEOCBS0045PS"@xxx.yyy.com>`, []string{"01KF8JCEOCBS0045PS@xxx.yyy.com"}},
		{`<"a>b"@x> <"c\"d"@x>`, []string{"a>b@x", `c"d@x`}},
		{`<"a b"@x>`, []string{"a b@x"}},
		{"no ids", nil},
	}
	for _, tt := range tests {
		got := ParseMsgIDs(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ParseMsgIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
