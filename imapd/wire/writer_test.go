package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

func TestWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		utf8  bool
		write func(w *Writer)
		want  string
	}{
		{"exists", false, func(w *Writer) { w.Untagged().Number(23).SP().Atom("EXISTS").CRLF() }, "* 23 EXISTS\r\n"},
		{"tagged ok code", false, func(w *Writer) {
			w.Status("a1", imap.StatusResponseTypeOK, "READ-WRITE", "SELECT completed")
		}, "a1 OK [READ-WRITE] SELECT completed\r\n"},
		{"untagged no text", false, func(w *Writer) { w.Status("", imap.StatusResponseTypeBye, "", "") }, "* BYE BYE\r\n"},
		{"text with CRLF", false, func(w *Writer) { w.Status("a", imap.StatusResponseTypeNo, "", "x\r\ny") }, "a NO x  y\r\n"},
		{"quoted", false, func(w *Writer) { w.String(`say "hi" \o/`) }, `"say \"hi\" \\o/"`},
		{"empty", false, func(w *Writer) { w.String("") }, `""`},
		{"8bit literal", false, func(w *Writer) { w.String("bär") }, "{4}\r\nbär"},
		{"8bit quoted utf8", true, func(w *Writer) { w.String("bär") }, `"bär"`},
		{"bad utf8", true, func(w *Writer) { w.String("b\xffr") }, "{3}\r\nb\xffr"},
		{"crlf literal", false, func(w *Writer) { w.String("a\r\nb") }, "{4}\r\na\r\nb"},
		{"astring atom", false, func(w *Writer) { w.AString("foo]") }, "foo]"},
		{"astring nil", false, func(w *Writer) { w.AString("nil") }, `"nil"`},
		{"astring space", false, func(w *Writer) { w.AString("a b") }, `"a b"`},
		{"nstring", false, func(w *Writer) { w.NString("", false).SP().NString("", true) }, `NIL ""`},
		{"binary nul", false, func(w *Writer) { w.Binary([]byte("a\x00b")) }, "~{3}\r\na\x00b"},
		{"binary plain", false, func(w *Writer) { w.Binary([]byte("ab")) }, "{2}\r\nab"},
		{"literal from", false, func(w *Writer) { w.LiteralFrom(strings.NewReader("hello"), 5, false) }, "{5}\r\nhello"},
		{"flags", false, func(w *Writer) { w.Flags([]imap.Flag{imap.FlagSeen, "$Junk"}) }, `(\Seen $Junk)`},
		{"mailbox utf7", false, func(w *Writer) { w.Mailbox("~peter/mail/台北/日本語") }, "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"mailbox utf8", true, func(w *Writer) { w.Mailbox("Entwürfe") }, `"Entwürfe"`},
		{"mailbox space", false, func(w *Writer) { w.Mailbox("A & B") }, `"A &- B"`},
		{"inbox", false, func(w *Writer) { w.Mailbox("inbox") }, "INBOX"},
		{"numset", false, func(w *Writer) { w.NumSet(imap.SeqSet{{Start: 1, Stop: 3}, {Start: 5, Stop: 0}}) }, "1:3,5:*"},
		{"searchres", false, func(w *Writer) { w.NumSet(imap.SearchRes()) }, "$"},
		{"list", false, func(w *Writer) {
			w.Untagged().Atom("STATUS").SP().Mailbox("blurdybloop").SP().BeginList().Atom("MESSAGES").SP().Number(231).EndList().CRLF()
		}, "* STATUS blurdybloop (MESSAGES 231)\r\n"},
		{"modseq", false, func(w *Writer) { w.Number64(1 << 40) }, "1099511627776"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.SetUTF8(tt.utf8)
		tt.write(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, buf.String(), tt.want)
		}
	}
}

func TestWriterContinuation(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Continuation(""); err != nil || buf.String() != "+ Ready\r\n" {
		t.Fatalf("got %q %v", buf.String(), err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterStickyError(t *testing.T) {
	t.Parallel()
	w := NewWriter(failWriter{})
	w.Untagged().Atom(strings.Repeat("x", 10000)).CRLF()
	if err := w.Flush(); err == nil {
		t.Fatal("no error from a failing connection")
	}
	if w.Err() == nil {
		t.Fatal("error not kept")
	}
}

// What the Writer encodes, the Reader decodes to the same value.
func TestWriterReaderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"uo\te`, "8bit ä", "cr\rlf\n", strings.Repeat("long ", 300), "NIL"} {
		for _, utf := range []bool{false, true} {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.SetUTF8(utf)
			w.AString(s).SP().Mailbox(s).CRLF()
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r := NewReader(&buf, Options{})
			r.SetUTF8(utf)
			got, err := r.ReadAString()
			if err != nil || got != s {
				t.Errorf("astring %q (utf8 %v): got %q %v", s, utf, got, err)
				continue
			}
			_ = r.ReadSP()
			mb, err := r.ReadMailbox()
			want := s
			if strings.EqualFold(s, "INBOX") {
				want = "INBOX"
			}
			if err != nil || mb != want {
				t.Errorf("mailbox %q (utf8 %v): got %q %v", s, utf, mb, err)
			}
		}
	}
}

// FuzzStringRoundTrip: what the Writer encodes as an astring, string or
// mailbox name, the Reader decodes to the same value, in both modes.
func FuzzStringRoundTrip(f *testing.F) {
	for _, s := range []string{"", "NIL", "a b", `q"\`, "bär", "\r\n", "inbox", "&", "~x/日本語"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, utf bool) {
		if strings.IndexByte(s, 0) >= 0 || len(s) > 4096 {
			return // NUL cannot be in a string; longer is over the limit
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.SetUTF8(utf)
		w.AString(s).SP().String(s).SP().Mailbox(s).CRLF()
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		wire := buf.String()
		r := NewReader(&buf, Options{})
		r.SetUTF8(utf)
		a, err := r.ReadAString()
		if err != nil || a != s {
			t.Fatalf("astring %q as %q: got %q %v", s, wire, a, err)
		}
		_ = r.ReadSP()
		q, err := r.ReadString()
		if err != nil || q != s {
			t.Fatalf("string %q as %q: got %q %v", s, wire, q, err)
		}
		_ = r.ReadSP()
		mb, err := r.ReadMailbox()
		if !utf8.ValidString(s) {
			return // encoded with U+FFFD, or refused in UTF-8 mode
		}
		want := s
		if strings.EqualFold(s, "INBOX") {
			want = "INBOX"
		}
		if err != nil || mb != want {
			t.Fatalf("mailbox %q as %q: got %q %v", s, wire, mb, err)
		}
		if err := r.ReadCRLF(); err != nil {
			t.Fatalf("%q: %v", wire, err)
		}
	})
}
