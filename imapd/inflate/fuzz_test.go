package inflate

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"
)

// fuzzCap bounds the output a fuzz input may expand to.
const fuzzCap = 1 << 20

// readCapped reads r with reads of size bufSize, up to fuzzCap bytes.
func readCapped(r io.Reader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for len(out) < fuzzCap {
		n, err := r.Read(buf[:min(len(buf), fuzzCap-len(out))])
		if n > len(buf) {
			panic("Read returned more than asked")
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// FuzzInflate decodes arbitrary input and compares with compress/flate's
// decompressor: the same bytes and the same error-or-not (the bytes
// before an error too). Only when bytes are handed out may differ.
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0x03, 0x00}, uint16(7))
	f.Add([]byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'}, uint16(1))
	for _, level := range []int{flate.HuffmanOnly, 1, 6, 9} {
		f.Add(compress(f, testData(uint64(level+10), 3000), level, 700), uint16(300))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize uint16) {
		z := NewByteReader(&feed{buf: in})
		got, err := readCapped(z, int(bufSize%4096)+1)
		want, werr := readCapped(flate.NewReader(bytes.NewReader(in)), 4096)
		if len(got) == fuzzCap || len(want) == fuzzCap {
			n := min(len(got), len(want))
			if !bytes.Equal(got[:n], want[:n]) {
				t.Fatalf("output differs within the first %d bytes", n)
			}
			return
		}
		truncated := err == errWouldBlock || werr == io.ErrUnexpectedEOF
		if truncated && err != nil && werr != nil && bytes.HasPrefix(got, want) {
			// compress/flate wants as many bits as the end-of-block
			// code has before it decodes any symbol, so at the end of
			// a cut stream this package may decode a few more.
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes (err %v), compress/flate %d bytes (err %v)", len(got), err, len(want), werr)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("err = %v, compress/flate err = %v", err, werr)
		}
		if err == errWouldBlock {
			return // the input ended: the same as io.ErrUnexpectedEOF
		}
		if err != nil {
			var ce *CorruptInputError
			if err != io.ErrUnexpectedEOF && !asCorrupt(err, &ce) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
		}
	})
}

func asCorrupt(err error, ce **CorruptInputError) bool {
	c, ok := err.(*CorruptInputError)
	*ce = c
	return ok
}

// FuzzInflateRoundTrip compresses the input with compress/flate at a
// level and flush pattern taken from the input and checks that it reads
// back, each flushed piece from its own bytes.
func FuzzInflateRoundTrip(f *testing.F) {
	f.Add([]byte("a1 LOGIN user pass\r\n"), uint8(6), uint16(5))
	f.Add(testData(5, 10000), uint8(1), uint16(1000))
	f.Add(bytes.Repeat([]byte("A"), 70000), uint8(9), uint16(300))
	f.Fuzz(roundTrip)
}

func roundTrip(t *testing.T, data []byte, level uint8, chunk uint16) {
	{
		lv := int(level)%12 - 2 // HuffmanOnly .. BestCompression
		var out bytes.Buffer
		w, err := flate.NewWriter(&out, lv)
		if err != nil {
			t.Fatal(err)
		}
		var texts, comps [][]byte
		// At most 200 pieces: a flush per byte of a large input only
		// slows the fuzzer down.
		step := max(int(chunk)+1, len(data)/200)
		for off := 0; off < len(data); off += step {
			piece := data[off:min(off+step, len(data))]
			w.Write(piece)
			w.Flush()
			texts = append(texts, piece)
			comps = append(comps, bytes.Clone(out.Bytes()))
			out.Reset()
		}
		w.Close()
		f := &feed{}
		z := NewByteReader(f)
		buf := make([]byte, 1+int(chunk)%777)
		for i, c := range comps {
			f.buf = append(f.buf, c...)
			var got []byte
			for len(got) < len(texts[i]) {
				n, err := z.Read(buf[:min(len(buf), len(texts[i])-len(got))])
				got = append(got, buf[:n]...)
				if err != nil {
					t.Fatalf("piece %d: %v after %d of %d bytes", i, err, len(got), len(texts[i]))
				}
			}
			if !bytes.Equal(got, texts[i]) {
				t.Fatalf("piece %d differs", i)
			}
		}
		f.buf = append(f.buf, out.Bytes()...)
		if n, err := z.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("at the end: %d, %v", n, err)
		}
		if f.off != len(f.buf) {
			t.Fatalf("read %d of %d bytes", f.off, len(f.buf))
		}
	}
}
