package storage

import (
	"io"
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
