package thread

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzBaseSubject compares ParseSubject with the literal reading of RFC
// 5256 §2.1 (slowBaseSubject) and checks what a base subject cannot be.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{
		"", "Re: foo", "[PATCH] Re: [x] Fwd: foo (fwd)", "[fwd: Re: foo]", "[a] [b]",
		"Re [2]: x", "=?utf-8?q?Re:_caf=C3=A9?=", "foo\r\n\tbar", "[fwd: ]", "fw:fwd:re:",
		"[[x]] y", "Re: [fwd: [a]]", "=?iso-2022-jp?B?GyRCJEYkOSRIGyhC?=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, reply := ParseSubject(s)
		slow, slowReply := slowBaseSubject(s)
		if base != slow || reply != slowReply {
			t.Fatalf("ParseSubject(%q) = %q, %v; literal steps give %q, %v", s, base, reply, slow, slowReply)
		}
		if strings.HasPrefix(base, " ") || strings.HasSuffix(base, " ") {
			t.Fatalf("base %q of %q has outer white space", base, s)
		}
		if strings.Contains(base, "  ") || strings.Contains(base, "\t") {
			t.Fatalf("base %q of %q has a tab or a run of spaces", base, s)
		}
		if !strings.Contains(s, "=?") && len(base) > len(s) {
			t.Fatalf("base %q longer than %q", base, s)
		}
		if utf8.ValidString(s) && !strings.Contains(s, "=?") && !utf8.ValidString(base) {
			t.Fatalf("base %q of valid %q is not UTF-8", base, s)
		}
	})
}

// FuzzThread builds a mailbox from the input, four bytes a message
// (Message-ID, first and last reference from a small set of IDs so
// that duplicates, loops and missing parents are common; a subject from
// a small set; a date), and checks that both algorithms return in
// bounded time a tree holding every message once, that Format writes
// balanced parentheses, and that Sort returns a permutation.
func FuzzThread(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 2, 1, 1, 9, 3, 3, 0, 1})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1})
	f.Add([]byte{0, 0, 0, 0, 5, 0, 0, 1, 5, 7, 7, 2, 7, 5, 5, 3})
	subjects := []string{"", "foo", "Re: foo", "FOO", "Fwd: foo", "[fwd: foo]", "bar", "Re: bar", "[x]", "Re:"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4*5000 {
			data = data[:4*5000]
		}
		var msgs []Message
		for i := 0; i+4 <= len(data); i += 4 {
			b := data[i : i+4]
			m := Message{
				Num:     uint32(len(msgs) + 1 + int(b[3]&1)*1000), // not always in order
				Subject: subjects[int(b[3]>>1)%len(subjects)],
				Arrival: t0.Add(time.Duration(len(msgs)) * time.Minute),
			}
			if b[3]&0x80 != 0 {
				m.Date = t0.Add(time.Duration(b[3]&0x0f) * time.Minute)
			}
			if b[0] != 0 {
				m.MessageID = fmt.Sprintf("<%d@x>", b[0]%32)
			}
			for _, r := range b[1:3] {
				if r != 0 {
					m.References = append(m.References, fmt.Sprintf("<%d@x>", r%32))
				}
			}
			if b[1] > 200 {
				m.InReplyTo, m.References = m.References, nil
			}
			msgs = append(msgs, m)
		}
		for _, algo := range []Algorithm{References, OrderedSubject} {
			threads := Thread(msgs, algo)
			seen := make(map[uint32]bool)
			var walk func(n *Node, depth int)
			walk = func(n *Node, depth int) {
				if depth > len(msgs)+1 {
					t.Fatalf("%s: tree deeper than the mailbox", algo)
				}
				if n.Num == 0 && len(n.Children) == 0 {
					t.Fatalf("%s: empty dummy", algo)
				}
				if n.Num != 0 {
					if seen[n.Num] {
						t.Fatalf("%s: message %d twice", algo, n.Num)
					}
					seen[n.Num] = true
				}
				for _, c := range n.Children {
					walk(c, depth+1)
				}
			}
			for _, n := range threads {
				walk(n, 0)
			}
			if len(seen) != len(msgs) {
				t.Fatalf("%s: %d of %d messages", algo, len(seen), len(msgs))
			}
			depth := 0
			for _, c := range Format(threads) {
				switch c {
				case '(':
					depth++
				case ')':
					if depth--; depth < 0 {
						t.Fatalf("%s: unbalanced", algo)
					}
				}
			}
			if depth != 0 {
				t.Fatalf("%s: unbalanced", algo)
			}
		}
		sorted := Sort(msgs, []Criterion{{Key: Subject}, {Key: Date, Reverse: true}})
		if len(sorted) != len(msgs) {
			t.Fatalf("Sort returned %d of %d", len(sorted), len(msgs))
		}
	})
}

// FuzzParseMsgIDs checks that splitting a References or In-Reply-To value
// never panics, gives no empty ID, no line break, and no more IDs than
// the value has "<".
func FuzzParseMsgIDs(f *testing.F) {
	for _, s := range []string{
		"<a@b> <c@d>", `<"a>b"@x> <"c\"d"@x>`, "<x <a@b>", "<a@\r\n b>", `"Joe" <a@b> (c)`, "<<>>", `<"`, `<\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := ParseMsgIDs(s)
		if len(ids) > strings.Count(s, "<") {
			t.Fatalf("%d IDs from %d '<' in %q", len(ids), strings.Count(s, "<"), s)
		}
		for _, id := range ids {
			if id == "" || strings.ContainsAny(id, "\r\n") {
				t.Fatalf("ID %q from %q", id, s)
			}
		}
	})
}
