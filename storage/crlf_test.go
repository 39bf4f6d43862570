package storage

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCRLFReader(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                          "",
		"a\r\nb\r\n":                "a\r\nb\r\n",
		"a\nb\n":                    "a\r\nb\r\n",
		"a\r\n\nb":                  "a\r\n\r\nb",
		"\n\n\n":                    "\r\n\r\n\r\n",
		"x\ry\n":                    "x\ry\r\n",
		strings.Repeat("ab\n", 999): strings.Repeat("ab\r\n", 999),
	} {
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
			got, err := io.ReadAll(CRLFReader(wrap(strings.NewReader(in))))
			if err != nil || string(got) != want {
				t.Errorf("CRLFReader(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
		// Tiny destination buffers exercise the owed-LF path.
		r := CRLFReader(strings.NewReader(in))
		var out []byte
		buf := make([]byte, 1)
		for {
			n, err := r.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		if string(out) != want {
			t.Errorf("1-byte reads of %q = %q, want %q", in, out, want)
		}
	}
}

// crlfReference is the plain definition CRLFReader and wireSize follow.
func crlfReference(in []byte) []byte {
	var out []byte
	for i, b := range in {
		if b == '\n' && (i == 0 || in[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b)
	}
	return out
}

// TestCRLFRandom compares CRLFReader (with odd read sizes) and wireSize
// (with a CRLF split across its 64 KiB reads) against the reference.
func TestCRLFRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte("ab\r\n\n")
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
		checkCRLF(t, in)
	}
}

// checkCRLF compares CRLFReader (whole and in odd-sized reads) and
// wireSize with crlfReference for in.
func checkCRLF(t *testing.T, in []byte) {
	t.Helper()
	want := crlfReference(in)
	for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
		got, err := io.ReadAll(CRLFReader(wrap(bytes.NewReader(in))))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("CRLFReader(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	path := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(path, in, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := wireSize(path, "1.M1P1.x,S=1"); err != nil || n != int64(len(want)) {
		t.Fatalf("wireSize of %d bytes = %d, %v; want %d", len(in), n, err, len(want))
	}
}

// FuzzCRLF: CRLFReader and wireSize agree with the plain definition for
// any input.
func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\nb\r\n", "\r\r\n\n", "x\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkCRLF)
}
