package smtpd

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// guardReference is the plain definition the guard follows.
func guardReference(in []byte) bool {
	if bytes.Contains(in, []byte("\r\n.\n")) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(in[i:], []byte("\r\n.\r"))
		if j < 0 {
			return false
		}
		if k := i + j + 4; k < len(in) && in[k] != '\n' {
			return true
		}
		i += j + 1
	}
}

// checkGuard feeds in to a guard in chunks of the given sizes (cycled).
func checkGuard(t *testing.T, in []byte, sizes []byte) {
	t.Helper()
	var g dataGuard
	rest := in
	for i := 0; len(rest) > 0; i++ {
		n := len(rest)
		if len(sizes) > 0 {
			n = min(n, int(sizes[i%len(sizes)])+1)
		}
		g.Write(rest[:n])
		rest = rest[n:]
	}
	if want, got := guardReference(in), g.take(); got != want {
		t.Fatalf("guard on %q (chunks %v) = %v, want %v", in, sizes, got, want)
	}
	if g.take() {
		t.Fatalf("guard on %q still set after take", in)
	}
}

func TestDataGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\n", false},
		{"DATA\r\nSubject: x\r\n\r\n..\r\n..\n..\rX\r\n.\r\n", false}, // stuffed: fine
		{"DATA\r\nfirst\r\n.\nMAIL FROM:<e@x>\r\n", true},
		{"DATA\r\nfirst\r\n.\rMAIL FROM:<e@x>\r\n", true},
		{"DATA\r\n.\nstarts with it", true},
		{"DATA\r\nfirst\n.\nsecond\r\n.\r\n", false},   // bare LF lines: made CRLF, not dropped
		{"DATA\r\nfirst\r.\r\nsecond\r\n.\r\n", false}, // a bare CR: the strict reader's
	} {
		if got := guardReference([]byte(tc.in)); got != tc.want {
			t.Errorf("reference(%q) = %v, want %v", tc.in, got, tc.want)
		}
		for _, sizes := range [][]byte{nil, {0}, {1, 2}, {4}} {
			checkGuard(t, []byte(tc.in), sizes)
		}
	}
}

func TestGuardedReader(t *testing.T) {
	t.Parallel()
	g := &dataGuard{}
	r := guardedReader{r: strings.NewReader("body\r\n"), g: g}
	if b, err := io.ReadAll(r); err != nil || string(b) != "body\r\n" {
		t.Fatalf("clean: %q, %v", b, err)
	}
	g.Write([]byte("x\r\n.\ny"))
	r = guardedReader{r: strings.NewReader("body\r\n"), g: g}
	if _, err := io.ReadAll(r); !errors.Is(err, errAmbiguousEnd) {
		t.Fatalf("after an ambiguous end: %v", err)
	}
	// Reported once: the next message is judged on its own.
	r = guardedReader{r: strings.NewReader("next\r\n"), g: g}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatalf("the next message: %v", err)
	}
}

// FuzzDataGuard: the guard, fed in any chunking, agrees with the plain
// definition.
func FuzzDataGuard(f *testing.F) {
	for _, s := range []string{"\r\n.\n", "\r\n.\rX", "\r\n.\r\n", "a\r\n..\r\n", "\r\n.\r"} {
		f.Add([]byte(s), []byte{0, 1, 2})
	}
	f.Fuzz(checkGuard)
}

// BenchmarkDataGuard feeds 1 MiB of CRLF lines through the guard in
// 4 KiB chunks, as go-smtp's reader tees them.
func BenchmarkDataGuard(b *testing.B) {
	msg := bytes.Repeat([]byte(strings.Repeat("x", 74)+"\r\n"), (1<<20)/76)
	b.SetBytes(int64(len(msg)))
	var g dataGuard
	for b.Loop() {
		for p := msg; len(p) > 0; {
			n := min(len(p), 4096)
			g.Write(p[:n])
			p = p[n:]
		}
	}
}
