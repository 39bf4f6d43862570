package storage

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCanonicalReader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, lenient, strict string }{
		{"", "", ""},
		{"a\r\nb\r\n", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\r\n\nb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
		{"a", "a\r\n", "a\r\n"},
		{"\n\n\n", "\r\n\r\n\r\n", "\r\n\r\n\r\n"},
		{"x\ry\n", "x\r\ny\r\n", "!"},
		{"x\ry", "x\r\ny\r\n", "!"},
		{"x\r", "x\r\n", "!"},
		{"\r\r\n", "\r\n\r\n", "!"},
		{"first\r.\r\nMAIL FROM:<a@b>\r\n", "first\r\n.\r\nMAIL FROM:<a@b>\r\n", "!"},
		{strings.Repeat("ab\n", 999), strings.Repeat("ab\r\n", 999), strings.Repeat("ab\r\n", 999)},
	} {
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
			got, err := io.ReadAll(CanonicalReader(wrap(strings.NewReader(tc.in)), false))
			if err != nil || string(got) != tc.lenient {
				t.Errorf("lenient %q = %q, %v; want %q", tc.in, got, err, tc.lenient)
			}
			got, err = io.ReadAll(CanonicalReader(wrap(strings.NewReader(tc.in)), true))
			if tc.strict == "!" {
				if !errors.Is(err, ErrBareCR) {
					t.Errorf("strict %q = %q, %v; want ErrBareCR", tc.in, got, err)
				}
			} else if err != nil || string(got) != tc.strict {
				t.Errorf("strict %q = %q, %v; want %q", tc.in, got, err, tc.strict)
			}
		}
	}
}

// canonicalReference is the plain definition CanonicalReader, wireSize
// and canonicalSize follow: every CRLF, bare CR and bare LF is one line
// end, written CRLF, and the last line has one. bareCR says whether a strict reader must fail.
func canonicalReference(in []byte) (out []byte, bareCR bool) {
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case '\r':
			if i+1 < len(in) && in[i+1] == '\n' {
				i++
			} else {
				bareCR = true
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, in[i])
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out, bareCR
}

// TestCanonicalRandom compares CanonicalReader (with odd read sizes) and
// wireSize (with a CRLF split across its 64 KiB reads) against the
// reference.
func TestCanonicalRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte("ab.\r\n\n")
	for i := range 200 {
		in := make([]byte, rng.IntN(3000))
		if i%20 == 0 {
			in = make([]byte, 64<<10+rng.IntN(100))
		}
		for j := range in {
			in[j] = alphabet[rng.IntN(len(alphabet))]
		}
		if i%20 == 0 {
			in[64<<10-1], in[64<<10] = '\r', '\n'
		}
		checkCanonical(t, in)
	}
}

// checkCanonical compares CanonicalReader in both modes (whole, in odd
// sized reads and in 1-byte reads), canonicalSize and wireSize with
// canonicalReference for in.
func checkCanonical(t *testing.T, in []byte) {
	t.Helper()
	want, bareCR := canonicalReference(in)
	for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
		got, err := io.ReadAll(CanonicalReader(wrap(bytes.NewReader(in)), false))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("lenient CanonicalReader(%q) = %q, %v; want %q", in, got, err, want)
		}
		got, err = io.ReadAll(CanonicalReader(wrap(bytes.NewReader(in)), true))
		switch {
		case bareCR && !errors.Is(err, ErrBareCR):
			t.Fatalf("strict CanonicalReader(%q) = %q, %v; want ErrBareCR", in, got, err)
		case bareCR && !bytes.HasPrefix(want, got):
			t.Fatalf("strict CanonicalReader(%q) gave %q before ErrBareCR, not a prefix of %q", in, got, want)
		case !bareCR && (err != nil || !bytes.Equal(got, want)):
			t.Fatalf("strict CanonicalReader(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Tiny destination buffers exercise the owed-LF path.
	r := CanonicalReader(bytes.NewReader(in), false)
	var out []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("1-byte reads of %q = %q, want %q", in, out, want)
	}
	size, canonical, err := canonicalSize(iotest.HalfReader(bytes.NewReader(in)))
	if err != nil || size != int64(len(want)) || canonical != bytes.Equal(in, want) {
		t.Fatalf("canonicalSize(%q) = %d, %v, %v; want %d, %v", in, size, canonical, err, len(want), bytes.Equal(in, want))
	}
	path := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := wireSize(path); err != nil || n != int64(len(want)) {
		t.Fatalf("wireSize of %d bytes = %d, %v; want %d", len(in), n, err, len(want))
	}
}

// FuzzCanonical: CanonicalReader, canonicalSize and wireSize agree with
// the plain definition for any input.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\nb\r\n", "\r\r\n\n", "x\r", "first\r.\r\nMAIL FROM:<a@b>\r\n", "\r\n.\r", "\n.\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkCanonical)
}

// TestVerifyRawLegacyFile: a message an older Yubin stored raw (bare LFs,
// its file size in the index) is a size mismatch for verify, and repair
// sets the index to the size IMAP and POP3 send; quota counts that size.
func TestVerifyRawLegacyFile(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	ctx := t.Context()
	m, err := a.Deliver(ctx, Inbox, strings.NewReader("a\r\nb\r\n"), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The same length, stored raw as before the one stored form.
	if err := os.WriteFile(m.Path, []byte("a\nb\nc\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	probs, err := s.VerifyAccount(ctx, a.addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].Kind != SizeMismatch || !probs[0].Repairable {
		t.Fatalf("verify found %v, want one repairable size mismatch", probs)
	}
	if err := s.RepairAccount(ctx, a.addr); err != nil {
		t.Fatal(err)
	}
	msgs, err := a.Messages(ctx, Inbox)
	if err != nil || len(msgs) != 1 || msgs[0].Size != 9 {
		t.Fatalf("after repair: %+v, %v; want size 9", msgs, err)
	}
	if used, err := a.Usage(ctx); err != nil || used != 9 {
		t.Errorf("Usage = %d, %v; want 9", used, err)
	}
}

// BenchmarkCanonicalReader reads a 1 MiB message of 76-octet CRLF lines
// (the common case: already canonical) through CanonicalReader.
func BenchmarkCanonicalReader(b *testing.B) {
	msg := bytes.Repeat([]byte(strings.Repeat("x", 74)+"\r\n"), (1<<20)/76)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r := CanonicalReader(bytes.NewReader(msg), true)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
	}
}

// TestOpenRecountsLegacySizes: an index from before the one stored form
// (user_version 1) holding the file size of a message an older Yubin
// stored raw gets the canonical size at the next open, once.
func TestOpenRecountsLegacySizes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, a := openAccountIn(t, dir, true)
	m, err := a.Deliver(t.Context(), Inbox, strings.NewReader("a\r\nb\r\n"), DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.Path, []byte("a\nb\nc\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := a.idx.Exec(`PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, a = openAccountIn(t, dir, false)
	defer s.Close()
	msgs, err := a.Messages(t.Context(), Inbox)
	if err != nil || len(msgs) != 1 || msgs[0].Size != 9 {
		t.Fatalf("after reopening: %+v, %v; want size 9", msgs, err)
	}
	var v int
	if err := a.idx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != indexVersion {
		t.Errorf("user_version = %d, %v", v, err)
	}
}
