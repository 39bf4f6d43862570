package wire

import (
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func newTestReader(s string) *Reader {
	return NewReader(strings.NewReader(s), Options{})
}

func wantSyntax(t *testing.T, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got %v (%T), want *SyntaxError", err, err)
	}
}

func TestReadCommand(t *testing.T) {
	t.Parallel()
	r := newTestReader("a001 login {5}\r\nSMITH \"s\\\"ec\\\\ret\"\r\nA2 noop\r\n")
	continued := 0
	r.opts.Continue = func() error { continued++; return nil }
	tag, name, err := r.ReadCommand()
	if err != nil || tag != "a001" || name != "LOGIN" {
		t.Fatalf("ReadCommand = %q %q %v", tag, name, err)
	}
	if err := r.ReadSP(); err != nil {
		t.Fatal(err)
	}
	user, err := r.ReadAString()
	if err != nil || user != "SMITH" {
		t.Fatalf("user = %q, %v", user, err)
	}
	if continued != 1 {
		t.Fatalf("Continue called %d times, want 1", continued)
	}
	if err := r.ReadSP(); err != nil {
		t.Fatal(err)
	}
	pass, err := r.ReadAString()
	if err != nil || pass != `s"ec\ret` {
		t.Fatalf("pass = %q, %v", pass, err)
	}
	if err := r.ReadCRLF(); err != nil {
		t.Fatal(err)
	}
	tag, name, err = r.ReadCommand()
	if err != nil || tag != "A2" || name != "NOOP" {
		t.Fatalf("ReadCommand = %q %q %v", tag, name, err)
	}
	if err := r.ReadCRLF(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestNonSyncLiteralNoContinue(t *testing.T) {
	t.Parallel()
	r := newTestReader("{3+}\r\nabc")
	r.opts.Continue = func() error { t.Fatal("Continue called for {n+}"); return nil }
	s, err := r.ReadString()
	if err != nil || s != "abc" {
		t.Fatalf("got %q %v", s, err)
	}
}

func TestLiteralMinus(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 5000)
	r := NewReader(strings.NewReader("a APPEND x {5000+}\r\n"+big+"\r\nb NOOP\r\n"), Options{LiteralMinus: true})
	if _, _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	_ = r.ReadSP()
	if _, err := r.ReadMailbox(); err != nil {
		t.Fatal(err)
	}
	_ = r.ReadSP()
	_, err := r.ReadLiteral(1 << 20)
	wantSyntax(t, err)
	if err := r.Skip(); err != nil {
		t.Fatalf("Skip: %v", err)
	}
	tag, name, err := r.ReadCommand()
	if err != nil || tag != "b" || name != "NOOP" {
		t.Fatalf("after skip: %q %q %v", tag, name, err)
	}
}

func TestReadArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		read func(r *Reader) (any, error)
		want any // nil: want *SyntaxError
	}{
		{"atom", func(r *Reader) (any, error) { return r.ReadAtom() }, "atom"},
		{"a]b", func(r *Reader) (any, error) { return r.ReadAString() }, "a]b"},
		{"(", func(r *Reader) (any, error) { return r.ReadAtom() }, nil},
		{`"a\b"`, func(r *Reader) (any, error) { return r.ReadString() }, nil},
		{"\"a\r\n\"", func(r *Reader) (any, error) { return r.ReadString() }, nil},
		{"\"caf\xc3\xa9\"", func(r *Reader) (any, error) { return r.ReadString() }, nil},
		{"{2}\r\na\x00", func(r *Reader) (any, error) { return r.ReadString() }, nil},
		{"NIL", func(r *Reader) (any, error) { s, ok, err := r.ReadNString(); return [2]any{s, ok}, err }, [2]any{"", false}},
		{"nil", func(r *Reader) (any, error) { s, ok, err := r.ReadNString(); return [2]any{s, ok}, err }, [2]any{"", false}},
		{`"x"`, func(r *Reader) (any, error) { s, ok, err := r.ReadNString(); return [2]any{s, ok}, err }, [2]any{"x", true}},
		{"NILS", func(r *Reader) (any, error) { s, ok, err := r.ReadNString(); return [2]any{s, ok}, err }, nil},
		{"4294967295", func(r *Reader) (any, error) { return r.ReadNumber() }, uint32(4294967295)},
		{"4294967296", func(r *Reader) (any, error) { return r.ReadNumber() }, nil},
		{"99999999999999999999999", func(r *Reader) (any, error) { return r.ReadNumber64() }, nil},
		{"0", func(r *Reader) (any, error) { return r.ReadNzNumber() }, nil},
		{"x", func(r *Reader) (any, error) { return r.ReadNumber() }, nil},
		{"1-Feb-1994", func(r *Reader) (any, error) { return r.ReadDate() }, time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
		{`"01-feb-1994"`, func(r *Reader) (any, error) { return r.ReadDate() }, time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"31-Feb-1994", func(r *Reader) (any, error) { return r.ReadDate() }, nil},
		{"1-Fob-1994", func(r *Reader) (any, error) { return r.ReadDate() }, nil},
		{`"17-Jul-1996 02:44:25 -0700"`, func(r *Reader) (any, error) { t, err := r.ReadDateTime(); return t.UTC(), err }, time.Date(1996, 7, 17, 9, 44, 25, 0, time.UTC)},
		{`" 7-Jul-1996 02:44:25 +0000"`, func(r *Reader) (any, error) { t, err := r.ReadDateTime(); return t.UTC(), err }, time.Date(1996, 7, 7, 2, 44, 25, 0, time.UTC)},
		{`"7-Jul-1996 02:44:25 +0000"`, func(r *Reader) (any, error) { return r.ReadDateTime() }, nil},
		{`"17-Jul-1996 25:44:25 +0000"`, func(r *Reader) (any, error) { return r.ReadDateTime() }, nil},
		{`\seen`, func(r *Reader) (any, error) { return r.ReadFlag() }, imap.FlagSeen},
		{`$Junk`, func(r *Reader) (any, error) { return r.ReadFlag() }, imap.FlagJunk},
		{`\*`, func(r *Reader) (any, error) { return r.ReadFlag() }, nil},
		{`(\Deleted foo \X)`, func(r *Reader) (any, error) { return r.ReadFlagList() }, []imap.Flag{imap.FlagDeleted, "foo", `\X`}},
		{`()`, func(r *Reader) (any, error) { return r.ReadFlagList() }, []imap.Flag(nil)},
		{`(\Seen `, func(r *Reader) (any, error) { return r.ReadFlagList() }, nil},
		{`inbox`, func(r *Reader) (any, error) { return r.ReadMailbox() }, "INBOX"},
		{`"InBox"`, func(r *Reader) (any, error) { return r.ReadMailbox() }, "INBOX"},
		{`~peter/mail/&U,BTFw-/&ZeVnLIqe-`, func(r *Reader) (any, error) { return r.ReadMailbox() }, "~peter/mail/台北/日本語"},
		{`&Jjo!`, func(r *Reader) (any, error) { return r.ReadMailbox() }, nil},
		{"{4}\r\nb\xc3\xa4r", func(r *Reader) (any, error) { return r.ReadMailbox() }, nil},
		{`1:3,5,7:*`, func(r *Reader) (any, error) { return r.ReadNumSet(false) }, imap.SeqSet{{Start: 1, Stop: 3}, {Start: 5, Stop: 5}, {Start: 7, Stop: 0}}},
		{`*:4,*`, func(r *Reader) (any, error) { return r.ReadNumSet(true) }, imap.UIDSet{{Start: 4, Stop: 0}, {Start: 0, Stop: 0}}},
		{`9:2`, func(r *Reader) (any, error) { return r.ReadNumSet(false) }, imap.SeqSet{{Start: 2, Stop: 9}}},
		{`0:2`, func(r *Reader) (any, error) { return r.ReadNumSet(false) }, nil},
		{`1,`, func(r *Reader) (any, error) { return r.ReadNumSet(false) }, nil},
		{`4294967296`, func(r *Reader) (any, error) { return r.ReadNumSet(false) }, nil},
		{`%/*`, func(r *Reader) (any, error) { return r.ReadListMailbox() }, "%/*"},
	}
	for _, tt := range tests {
		r := newTestReader(tt.in + "\r\n")
		got, err := tt.read(r)
		if tt.want == nil {
			if err == nil {
				// Trailing garbage is a syntax error at the CRLF.
				err = r.ReadCRLF()
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("%q: got %v, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %#v, want %#v", tt.in, got, tt.want)
		}
		if err := r.ReadCRLF(); err != nil {
			t.Errorf("%q: rest: %v", tt.in, err)
		}
	}
}

func TestSearchRes(t *testing.T) {
	t.Parallel()
	r := newTestReader("$")
	set, err := r.ReadNumSet(true)
	if err != nil || !imap.IsSearchRes(set) {
		t.Fatalf("got %v %v, want SearchRes", set, err)
	}
}

func TestUTF8Mode(t *testing.T) {
	t.Parallel()
	r := newTestReader("\"b\xc3\xa4r\" &-x\r\n")
	r.SetUTF8(true)
	if s, err := r.ReadMailbox(); err != nil || s != "bär" {
		t.Fatalf("got %q %v", s, err)
	}
	_ = r.ReadSP()
	if s, err := r.ReadMailbox(); err != nil || s != "&-x" {
		t.Fatalf("got %q %v", s, err)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	opts := Options{MaxLineLength: 20, MaxLiteralSize: 10, MaxCommandSize: 100, MaxDepth: 3}
	cases := []struct {
		name string
		in   string
		read func(r *Reader) error
	}{
		{"line", strings.Repeat("a", 30), func(r *Reader) error { _, err := r.ReadAtom(); return err }},
		{"literal", "{11}\r\n", func(r *Reader) error { _, err := r.ReadString(); return err }},
		{"depth", "((((", func(r *Reader) error {
			var item func() error
			item = func() error { return r.ReadList(item) }
			return item()
		}},
		{"command", strings.Repeat("{9+}\r\n123456789 ", 20), func(r *Reader) error {
			for {
				if _, err := r.ReadString(); err != nil {
					return err
				}
				if err := r.ReadSP(); err != nil {
					return err
				}
			}
		}},
	}
	for _, c := range cases {
		r := NewReader(strings.NewReader(c.in), opts)
		err := c.read(r)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Code != "TOOBIG" {
			t.Errorf("%s: got %v, want TOOBIG", c.name, err)
		}
	}
}

// A literal announced as huge must neither be allocated up front nor read
// past the limit.
//
// Not parallel: it measures the process's allocation.
func TestHugeLiteralNotAllocated(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(strings.NewReader("a LOGIN {4000000000}\r\n"), Options{})
	r.opts.Continue = func() error { t.Fatal("Continue for a literal over the limit"); return nil }
	_, _, _ = r.ReadCommand()
	_ = r.ReadSP()
	_, err := r.ReadAString()
	wantSyntax(t, err)
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes for a refused literal", d)
	}

	// Within the limit but cut short: the data is read in chunks, so a
	// 60 KB announcement with 10 bytes sent allocates little.
	r = NewReader(strings.NewReader("{60000}\r\n0123456789"), Options{})
	runtime.ReadMemStats(&before)
	_, err = r.ReadString()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short literal: %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<10 {
		t.Fatalf("allocated %d bytes for 10 bytes of literal data", d)
	}
}

func TestSkip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"rest of line", "a FOO (bar \"baz\r\nb NOOP\r\n"},
		{"non-sync literal", "a FOO ( {5+}\r\nab\r\nc x {3+}\r\n)\r\n\r\nb NOOP\r\n"},
		{"sync literal", "a FOO ( {5}\r\nb NOOP\r\n"},
		{"literal too big", "a LOGIN {999999999}\r\nb NOOP\r\n"},
		{"literal too big non-sync", "a LOGIN {70000+}\r\n" + strings.Repeat("x", 70000) + "\r\nb NOOP\r\n"},
		{"bare LF", "a NOOP\nb NOOP\r\n"},
	}
	for _, tt := range tests {
		r := newTestReader(tt.in)
		tag, _, err := r.ReadCommand()
		if err != nil || tag != "a" {
			t.Fatalf("%s: %q %v", tt.name, tag, err)
		}
		err = r.ReadSP()
		if err == nil {
			if _, err = r.ReadAString(); err == nil {
				err = r.ReadCRLF()
			}
		}
		wantSyntax(t, err)
		if err := r.Skip(); err != nil {
			t.Fatalf("%s: Skip: %v", tt.name, err)
		}
		tag, name, err := r.ReadCommand()
		if err != nil || tag != "b" || name != "NOOP" {
			t.Fatalf("%s: next command %q %q %v", tt.name, tag, name, err)
		}
	}
}

func TestSkipFatal(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("a X {99999999+}\r\n"), Options{MaxCommandSize: 1000})
	_, _, _ = r.ReadCommand()
	_ = r.ReadSP()
	_, err := r.ReadAString()
	wantSyntax(t, err)
	err = r.Skip()
	var se *SyntaxError
	if !errors.As(err, &se) || !se.Fatal {
		t.Fatalf("Skip = %v, want fatal *SyntaxError", err)
	}
}

func TestStreamedLiteral(t *testing.T) {
	t.Parallel()
	r := newTestReader("~{5}\r\nab\x00cd {3}\r\nxyz\r\nb NOOP\r\n")
	lit, err := r.ReadLiteral(10)
	if err != nil || !lit.Binary || lit.Size != 5 {
		t.Fatalf("ReadLiteral = %+v %v", lit, err)
	}
	b, err := io.ReadAll(lit)
	if err != nil || string(b) != "ab\x00cd" {
		t.Fatalf("data %q %v", b, err)
	}
	_ = r.ReadSP()
	lit, err = r.ReadLiteral(10)
	if err != nil {
		t.Fatal(err)
	}
	// Left unread: discarded by the next read.
	if err := r.ReadCRLF(); err != nil {
		t.Fatal(err)
	}
	_ = lit
	if tag, _, err := r.ReadCommand(); err != nil || tag != "b" {
		t.Fatalf("next: %q %v", tag, err)
	}
}
