package wire

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestReadAppendMessage(t *testing.T) {
	t.Parallel()
	// RFC 9051 §6.3.12 example, then RFC 3502 MULTIAPPEND with literal8.
	in := "A003 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {23}\r\nDate: Mon, 7 Feb 1994\r\n\r\n" +
		"A004 APPEND INBOX {3+}\r\nabc ~{3}\r\nx\x00y\r\nB NOOP\r\n"
	continues := 0
	r := NewReader(strings.NewReader(in), Options{Continue: func() error { continues++; return nil }})
	read := func(want string, flags []imap.Flag, tm time.Time) {
		t.Helper()
		m, err := r.ReadAppendMessage(100)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Literal)
		if err != nil || string(b) != want {
			t.Fatalf("data %q %v, want %q", b, err, want)
		}
		if len(m.Flags) != len(flags) || !m.Time.Equal(tm) {
			t.Fatalf("got %v %v, want %v %v", m.Flags, m.Time, flags, tm)
		}
	}
	for i, tag := range []string{"A003", "A004"} {
		got, name, err := r.ReadCommand()
		if err != nil || got != tag || name != "APPEND" {
			t.Fatalf("%q %q %v", got, name, err)
		}
		_ = r.ReadSP()
		if _, err := r.ReadMailbox(); err != nil {
			t.Fatal(err)
		}
		_ = r.ReadSP()
		if i == 0 {
			read("Date: Mon, 7 Feb 1994\r\n", []imap.Flag{imap.FlagSeen}, time.Date(1994, 2, 8, 5, 52, 25, 0, time.UTC))
		} else {
			read("abc", nil, time.Time{})
			if sp, err := r.MaybeSP(); err != nil || !sp {
				t.Fatalf("MULTIAPPEND SP: %v %v", sp, err)
			}
			read("x\x00y", nil, time.Time{})
		}
		if err := r.ReadCRLF(); err != nil {
			t.Fatal(err)
		}
	}
	if continues != 2 {
		t.Fatalf("%d continuations, want 2 (for {23} and ~{3})", continues)
	}
	if tag, _, err := r.ReadCommand(); err != nil || tag != "B" {
		t.Fatalf("next: %q %v", tag, err)
	}
}

// An APPEND over the limit: BAD [TOOBIG] without "+", and the session
// goes on (RFC 9051 §7.1 TOOBIG, RFC 7889 APPENDLIMIT).
func TestReadAppendTooBig(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("A1 APPEND INBOX (\\Seen) {5000000}\r\nA2 NOOP\r\n"),
		Options{Continue: func() error { t.Fatal("Continue for a refused literal"); return nil }})
	_, _, _ = r.ReadCommand()
	_ = r.ReadSP()
	_, _ = r.ReadMailbox()
	_ = r.ReadSP()
	_, err := r.ReadAppendMessage(1 << 20)
	var se *SyntaxError
	if !IsSyntax(err) {
		t.Fatalf("got %v, want *SyntaxError", err)
	}
	if errors.As(err, &se); se.Code != "TOOBIG" {
		t.Fatalf("code %q, want TOOBIG", se.Code)
	}
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	if tag, _, err := r.ReadCommand(); err != nil || tag != "A2" {
		t.Fatalf("next: %q %v", tag, err)
	}
}
