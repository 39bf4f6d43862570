package wire

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// parseArgs runs read over in and a CRLF, and reads the CRLF, so input
// left over after the arguments fails too.
func parseArgs[T any](in string, read func(r *Reader) (T, error)) (T, error) {
	r := newTestReader(in + "\r\n")
	v, err := read(r)
	if err == nil {
		err = r.ReadCRLF()
	}
	return v, err
}

func TestReadListArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *ListArgs // nil: want *SyntaxError
	}{
		// RFC 9051 §6.3.9 and RFC 5258 §5 examples.
		{` "" ""`, &ListArgs{Patterns: []string{""}}},
		{` #news.comp.mail.misc ""`, &ListArgs{Ref: "#news.comp.mail.misc", Patterns: []string{""}}},
		{` /usr/staff/jones ""`, &ListArgs{Ref: "/usr/staff/jones", Patterns: []string{""}}},
		{` ~/Mail/ %`, &ListArgs{Ref: "~/Mail/", Patterns: []string{"%"}}},
		{` "" "*"`, &ListArgs{Patterns: []string{"*"}}},
		{` (SUBSCRIBED) "" "*"`, &ListArgs{Patterns: []string{"*"}, Extended: true,
			Options: imap.ListOptions{SelectSubscribed: true, ReturnSubscribed: true}}},
		{` (subscribed RECURSIVEMATCH) "" "%" RETURN (CHILDREN)`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true, ReturnSubscribed: true, ReturnChildren: true}}},
		{` (REMOTE SUBSCRIBED RECURSIVEMATCH) "" %`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{SelectRemote: true, SelectSubscribed: true, SelectRecursiveMatch: true, ReturnSubscribed: true}}},
		{` "" % RETURN (CHILDREN SUBSCRIBED)`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{ReturnChildren: true, ReturnSubscribed: true}}},
		{` (REMOTE) "" %`, &ListArgs{Patterns: []string{"%"}, Extended: true, Options: imap.ListOptions{SelectRemote: true}}},
		{` () "" %`, &ListArgs{Patterns: []string{"%"}, Extended: true}},
		{` "" % RETURN ()`, &ListArgs{Patterns: []string{"%"}, Extended: true}},
		{` "" ("INBOX" "Drafts" Sent/%)`, &ListArgs{Patterns: []string{"INBOX", "Drafts", "Sent/%"}, Extended: true}},
		{` (SUBSCRIBED SUBSCRIBED) "" %`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{SelectSubscribed: true, ReturnSubscribed: true}}},
		// RFC 6154 §5.1, §5.2.
		{` (SPECIAL-USE) "" "*"`, &ListArgs{Patterns: []string{"*"}, Extended: true,
			Options: imap.ListOptions{SelectSpecialUse: true, ReturnSpecialUse: true}}},
		{` "" "%" RETURN (SPECIAL-USE)`, &ListArgs{Patterns: []string{"%"}, Extended: true, Options: imap.ListOptions{ReturnSpecialUse: true}}},
		{` (SPECIAL-USE SUBSCRIBED RECURSIVEMATCH) "" %`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{SelectSpecialUse: true, SelectSubscribed: true, SelectRecursiveMatch: true,
				ReturnSpecialUse: true, ReturnSubscribed: true}}},
		// RFC 5819 §5.
		{` "" % RETURN (STATUS (MESSAGES UNSEEN))`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, NumUnseen: true}}}},
		{` "" % RETURN (STATUS (MESSAGES) STATUS (UIDNEXT))`, &ListArgs{Patterns: []string{"%"}, Extended: true,
			Options: imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, UIDNext: true}}}},
		// Modified UTF-7, and the reference is not folded to INBOX.
		{` inbox "&ZeVnLIqe-/%"`, &ListArgs{Ref: "inbox", Patterns: []string{"日本語/%"}}},
		{` "" {3+}` + "\r\nA/*", &ListArgs{Patterns: []string{"A/*"}}},

		{``, nil},
		{` ""`, nil},
		{` "" `, nil},
		{` (RECURSIVEMATCH) "" %`, nil}, // RFC 5258 §3.1
		{` (REMOTE RECURSIVEMATCH) "" %`, nil},
		{` (SPECIAL-USE RECURSIVEMATCH) "" %`, nil}, // RFC 6154 §6: an independent option
		{` (FOO) "" %`, nil},
		{` (SUBSCRIBED "" %`, nil},
		{` "" % RETURN (FOO)`, nil},
		{` "" % RETURN`, nil},
		{` "" % RETURN CHILDREN`, nil},
		{` "" % FOO (CHILDREN)`, nil},
		{` "" % RETURN (STATUS ())`, nil},
		{` "" % RETURN (STATUS (FOO))`, nil},
		{` "" % RETURN (STATUS)`, nil},
		{` "" ()`, nil},
		{` "" (% ())`, nil},
		{` "" "&Jjo!"`, nil}, // not canonical modified UTF-7
		{` &Jjo! %`, nil},
		{` "" % `, nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, (*Reader).ReadListArgs)
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
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestReadLSubArgs(t *testing.T) {
	t.Parallel()
	r := newTestReader(" \"#news.\" comp.mail.*\r\n")
	ref, pat, err := r.ReadLSubArgs()
	if err != nil || ref != "#news." || pat != "comp.mail.*" {
		t.Fatalf("got %q %q %v", ref, pat, err)
	}
	if err := r.ReadCRLF(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{" \"\"", " (SUBSCRIBED) \"\" %", " \"\" %)"} {
		r := newTestReader(in + "\r\n")
		_, _, err := r.ReadLSubArgs()
		if err == nil {
			err = r.ReadCRLF()
		}
		if !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
}

func TestWriteList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		{func(w *Writer) { w.List("LIST", []string{`\HasNoChildren`}, '/', "INBOX", nil, "") },
			`* LIST (\HasNoChildren) "/" INBOX` + "\r\n"},
		{func(w *Writer) { w.List("LIST", nil, '.', "Sent", nil, "") }, `* LIST () "." "Sent"` + "\r\n"},
		// RFC 5258 §5 examples 5 and 7.
		{func(w *Writer) { w.List("LIST", []string{`\Subscribed`, `\NonExistent`}, '/', "Fruit/Peach", nil, "") },
			`* LIST (\Subscribed \NonExistent) "/" "Fruit/Peach"` + "\r\n"},
		{func(w *Writer) { w.List("LIST", nil, '/', "Foo", []string{"SUBSCRIBED"}, "") },
			`* LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))` + "\r\n"},
		// RFC 9051 §6.3.9.7 OLDNAME.
		{func(w *Writer) { w.List("LIST", nil, '/', "NewMailbox", nil, "OldMailbox") },
			`* LIST () "/" "NewMailbox" ("OLDNAME" ("OldMailbox"))` + "\r\n"},
		{func(w *Writer) { w.List("LIST", nil, '/', "A", []string{"SUBSCRIBED"}, "B") },
			`* LIST () "/" "A" ("CHILDINFO" ("SUBSCRIBED") "OLDNAME" ("B"))` + "\r\n"},
		{func(w *Writer) { w.List("LIST", []string{`\Noselect`}, 0, "", nil, "") }, `* LIST (\Noselect) NIL ""` + "\r\n"},
		{func(w *Writer) { w.List("LIST", nil, '\\', `a\b"c`, nil, "") }, `* LIST () "\\" "a\\b\"c"` + "\r\n"},
		{func(w *Writer) { w.List("LSUB", []string{`\Noselect`}, '/', "日本語", nil, "") },
			`* LSUB (\Noselect) "/" "&ZeVnLIqe-"` + "\r\n"},
		{func(w *Writer) { w.SetUTF8(true); w.List("LIST", nil, '/', "日本語", nil, "") },
			`* LIST () "/" "日本語"` + "\r\n"},
		// Control characters are shifted in modified UTF-7, never sent raw.
		{func(w *Writer) { w.List("LIST", nil, '/', "a\r\nb", nil, "") }, "* LIST () \"/\" \"a&AA0ACg-b\"\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
}

// TestListRoundTrip reads back what List writes: the name the client
// sees is the name the server listed.
func TestListRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INBOX", "Sent", "a b", `q"uo\te`, "日本語/Ünïcode", "&", "x&y", "NIL"} {
		out := render(t, func(w *Writer) { w.List("LIST", nil, '/', name, nil, "") })
		r := newTestReader(out[len(`* LIST () "/"`):])
		got, err := r.ReadMailboxArg()
		if err == nil {
			err = r.ReadCRLF()
		}
		if err != nil || got != name {
			t.Errorf("%q: wrote %q, read %q, %v", name, out, got, err)
		}
	}
}

// TestListUTF8: after ENABLE UTF8=ACCEPT (or IMAP4rev2) names are UTF-8,
// not modified UTF-7, and invalid UTF-8 is refused.
func TestListUTF8(t *testing.T) {
	t.Parallel()
	r := newTestReader(" \"日本語/\" (\"&ZeVnLIqe-\" \"Ü*\")\r\n")
	r.SetUTF8(true)
	l, err := r.ReadListArgs()
	if err == nil {
		err = r.ReadCRLF()
	}
	if err != nil || l.Ref != "日本語/" || !reflect.DeepEqual(l.Patterns, []string{"&ZeVnLIqe-", "Ü*"}) {
		t.Fatalf("got %+v, %v", l, err)
	}
	for _, in := range []string{" {2+}\r\n\xff\xfe %", " \"\" {1+}\r\n\xff"} {
		r := newTestReader(in + "\r\n")
		r.SetUTF8(true)
		if _, err := r.ReadListArgs(); !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
}
