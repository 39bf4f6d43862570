package inflate

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/iotest"
)

// testData returns n bytes mixing text, runs, random bytes and long
// repeats, so that the compressor uses stored, fixed and dynamic blocks,
// short and long distances.
func testData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := strings.Fields("a1 FETCH UID FLAGS \\Seen ENVELOPE BODY[HEADER] quarterly report example.org NIL OK LOGIN\r\n")
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.IntN(5) {
		case 0:
			for range rng.IntN(200) {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteByte(' ')
			}
		case 1:
			b.Write(bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(1000)))
		case 2:
			r := make([]byte, rng.IntN(3000))
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			b.Write(r)
		case 3:
			if b.Len() > 0 {
				start := rng.IntN(b.Len())
				end := min(b.Len(), start+rng.IntN(5000))
				b.Write(append([]byte(nil), b.Bytes()[start:end]...))
			}
		case 4:
			b.WriteString(fmt.Sprintf("* %d FETCH (UID %d)\r\n", rng.IntN(1e6), rng.IntN(1e6)))
		}
	}
	return b.Bytes()[:n]
}

func compress(t testing.TB, data []byte, level int, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += chunk {
		w.Write(data[off:min(off+chunk, len(data))])
		if chunk < len(data) {
			w.Flush()
		}
	}
	w.Close()
	return buf.Bytes()
}

// TestInflateLevels: streams from compress/flate at every level, read
// through a bytes.Reader, one byte per Read from the source, and with
// small read buffers, give back the input.
func TestInflateLevels(t *testing.T) {
	t.Parallel()
	data := testData(1, 300<<10)
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		for _, chunk := range []int{len(data), 1000, 65536} {
			comp := compress(t, data, level, chunk)
			name := fmt.Sprintf("level%d/chunk%d", level, chunk)
			got, err := io.ReadAll(NewReader(bytes.NewReader(comp)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: %d bytes, %v; want %d bytes", name, len(got), err, len(data))
			}
			got, err = io.ReadAll(iotest.OneByteReader(NewReader(iotest.HalfReader(bytes.NewReader(comp)))))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s, one byte reads: %d bytes, %v", name, len(got), err)
			}
		}
	}
}

// TestInflateEmpty: the shortest streams.
func TestInflateEmpty(t *testing.T) {
	t.Parallel()
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		got, err := io.ReadAll(NewReader(bytes.NewReader(compress(t, nil, level, 1))))
		if err != nil || len(got) != 0 {
			t.Fatalf("level %d: %q %v", level, got, err)
		}
	}
	// A final fixed block with only the end-of-block code: 10 bits.
	got, err := io.ReadAll(NewReader(bytes.NewReader([]byte{0x03, 0x00})))
	if err != nil || len(got) != 0 {
		t.Fatalf("%q %v", got, err)
	}
}

var errWouldBlock = errors.New("would block")

// feed is an input that grows as a peer sends: reading past what has
// arrived is errWouldBlock, where a connection would wait.
type feed struct {
	buf []byte
	off int
}

func (f *feed) ReadByte() (byte, error) {
	if f.off == len(f.buf) {
		return 0, errWouldBlock
	}
	f.off++
	return f.buf[f.off-1], nil
}

// checkSegments feeds the compressed segments one by one and checks that
// each segment's text is read whole from its compressed bytes alone.
func checkSegments(t *testing.T, name string, texts, comps [][]byte) {
	t.Helper()
	f := &feed{}
	z := NewByteReader(f)
	buf := make([]byte, 100<<10)
	for i, c := range comps {
		f.buf = append(f.buf, c...)
		var got []byte
		for len(got) < len(texts[i]) {
			n, err := z.Read(buf[:min(len(buf), len(texts[i])-len(got))])
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("%s: segment %d: after %d of %d bytes: %v", name, i, len(got), len(texts[i]), err)
			}
		}
		if !bytes.Equal(got, texts[i]) {
			t.Fatalf("%s: segment %d differs", name, i)
		}
	}
}

// TestInflateSyncFlush: after each Flush of compress/flate's compressor
// everything written so far is readable without more input.
func TestInflateSyncFlush(t *testing.T) {
	t.Parallel()
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		var texts, comps [][]byte
		var out bytes.Buffer
		w, _ := flate.NewWriter(&out, level)
		for i := range 40 {
			text := testData(uint64(i), 1+i*i*37)
			w.Write(text)
			w.Flush()
			texts = append(texts, text)
			comps = append(comps, bytes.Clone(out.Bytes()))
			out.Reset()
		}
		checkSegments(t, fmt.Sprintf("level %d", level), texts, comps)
	}
}

// bitWriter writes a DEFLATE stream by hand: fixed-Huffman literal
// blocks, each ended the way zlib's Z_PARTIAL_FLUSH ends them (an empty
// fixed block after the data block), without byte alignment.
type bitWriter struct {
	out  []byte
	b    uint64
	nb   uint
	sent int
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.b |= v << w.nb
	w.nb += n
	for w.nb >= 8 {
		w.out = append(w.out, byte(w.b))
		w.b >>= 8
		w.nb -= 8
	}
}

// code writes a Huffman code, first bit first.
func (w *bitWriter) code(v uint16, n uint) { w.bits(uint64(reverse(v, n)), n) }

func (w *bitWriter) literal(c byte) {
	if c < 144 {
		w.code(0x30+uint16(c), 8)
	} else {
		w.code(0x190+uint16(c)-144, 9)
	}
}

// partialFlushBlock writes text as a fixed block, then an empty fixed
// block, and returns the whole bytes written since the last call: the
// bits of the empty block's tail may stay behind, as zlib leaves them.
func (w *bitWriter) partialFlushBlock(text []byte) []byte {
	w.bits(0b010, 3) // not final, fixed
	for _, c := range text {
		w.literal(c)
	}
	w.code(0, 7)     // end of block
	w.bits(0b010, 3) // the empty block
	w.code(0, 7)
	seg := w.out[w.sent:]
	w.sent = len(w.out)
	return seg
}

// TestInflatePartialFlush is the mbsync case: each command ends with the
// end of a Huffman block and an empty fixed block whose last bits may not
// be sent yet. The command must be readable all the same.
func TestInflatePartialFlush(t *testing.T) {
	t.Parallel()
	w := &bitWriter{}
	var texts, comps [][]byte
	for i := range 30 {
		text := fmt.Appendf(nil, "a%d UID FETCH 1:* (FLAGS)%s\r\n", i, strings.Repeat("é", i))
		texts = append(texts, text)
		comps = append(comps, bytes.Clone(w.partialFlushBlock(text)))
	}
	checkSegments(t, "partial flush", texts, comps)
	// The same stream through compress/flate gives the same bytes.
	got, _ := io.ReadAll(flate.NewReader(bytes.NewReader(w.out)))
	if want := bytes.Join(texts, nil); !bytes.Equal(got, want) {
		t.Fatalf("compress/flate reads %d bytes, want %d", len(got), len(want))
	}
}

// zlibSegments runs python3's zlib (raw DEFLATE, wbits -15) over texts
// with the named flush after each, and returns the compressed segments.
func zlibSegments(t *testing.T, flush string, level int, texts [][]byte) [][]byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "python3 not installed: %v", err)
	}
	script := `
import sys, zlib
flush = getattr(zlib, sys.argv[1])
c = zlib.compressobj(int(sys.argv[2]), zlib.DEFLATED, -15)
for line in sys.stdin:
    data = bytes.fromhex(line.strip())
    out = c.compress(data) + c.flush(flush)
    print(out.hex())
`
	var in strings.Builder
	for _, t := range texts {
		in.WriteString(hex.EncodeToString(t) + "\n")
	}
	cmd := exec.Command(py, "-c", script, flush, fmt.Sprint(level))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var segs [][]byte
	for _, l := range strings.Fields(string(out)) {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, b)
	}
	if len(segs) != len(texts) {
		t.Fatalf("python3 gave %d segments for %d texts", len(segs), len(texts))
	}
	return segs
}

// TestInflateZlibFlushes: zlib's Z_PARTIAL_FLUSH (isync's mbsync),
// Z_SYNC_FLUSH and Z_FULL_FLUSH after each piece: each piece is readable
// from its own segment. Z_NO_FLUSH with a final Z_FINISH: the whole
// stream reads back and ends with io.EOF.
func TestInflateZlibFlushes(t *testing.T) {
	t.Parallel()
	var texts [][]byte
	for i := range 30 {
		texts = append(texts, testData(uint64(100+i), 1+i*i*50))
	}
	for _, flush := range []string{"Z_PARTIAL_FLUSH", "Z_SYNC_FLUSH", "Z_FULL_FLUSH"} {
		for _, level := range []int{0, 1, 6, 9} {
			segs := zlibSegments(t, flush, level, texts)
			checkSegments(t, fmt.Sprintf("%s level %d", flush, level), texts, segs)
		}
	}
	for _, level := range []int{1, 6, 9} {
		segs := zlibSegments(t, "Z_FINISH", level, [][]byte{bytes.Join(texts, nil)})
		got, err := io.ReadAll(NewByteReader(&feed{buf: segs[0]}))
		if err != nil || !bytes.Equal(got, bytes.Join(texts, nil)) {
			t.Fatalf("Z_FINISH level %d: %d bytes, %v", level, len(got), err)
		}
	}
}

// TestInflateStopsAtEnd: nothing after the final block is read.
func TestInflateStopsAtEnd(t *testing.T) {
	t.Parallel()
	comp := compress(t, []byte("a1 LOGOUT\r\n"), 6, 100)
	f := &feed{buf: append(bytes.Clone(comp), "trailing"...)}
	got, err := io.ReadAll(NewByteReader(f))
	if err != nil || string(got) != "a1 LOGOUT\r\n" {
		t.Fatalf("%q %v", got, err)
	}
	if f.off != len(comp) {
		t.Fatalf("read %d bytes, the stream has %d", f.off, len(comp))
	}
}

// TestInflateCorrupt: each kind of bad input is a *CorruptInputError or
// io.ErrUnexpectedEOF, never a panic, and compress/flate agrees that it
// is an error.
func TestInflateCorrupt(t *testing.T) {
	t.Parallel()
	valid := compress(t, testData(7, 5000), 6, 5000)
	cases := map[string][]byte{
		"block type 3":       {0x07},
		"stored NLEN":        {0x01, 0x05, 0x00, 0x00, 0x00},
		"garbage":            {0x63, 0x00, 0x42, 0x00},
		"truncated":          valid[:len(valid)/2],
		"empty input":        {},
		"HLIT 287":           {0xf5, 0xff},
		"all ones":           bytes.Repeat([]byte{0xff}, 64),
		"stored truncated":   {0x01, 0x05, 0x00, 0xfa, 0xff, 'a'},
		"not final then EOF": {0x02, 0x00},
	}
	w := &bitWriter{}
	w.bits(0b011, 3) // final, fixed
	w.code(0xc6, 8)  // symbol 286
	w.bits(0, 8)
	cases["fixed symbol 286"] = w.out
	w = &bitWriter{}
	w.bits(0b011, 3)
	w.literal('a')
	w.code(1, 7) // length 3
	w.code(1, 5) // distance 2, one byte of output so far
	w.code(0, 7)
	w.bits(0, 8)
	cases["distance before the output"] = w.out
	w = &bitWriter{}
	w.bits(0b011, 3)
	w.literal('a')
	w.code(1, 7)    // length 3
	w.code(0x1e, 5) // distance symbol 30
	w.bits(0, 8)
	cases["distance symbol 30"] = append([]byte(nil), w.out...)
	for name, in := range cases {
		_, err := io.ReadAll(NewReader(bytes.NewReader(in)))
		var ce *CorruptInputError
		if !errors.As(err, &ce) && err != io.ErrUnexpectedEOF {
			t.Errorf("%s: err = %v", name, err)
		}
		if _, ferr := io.ReadAll(flate.NewReader(bytes.NewReader(in))); ferr == nil {
			t.Errorf("%s: compress/flate reads it without error", name)
		}
	}
}

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required when CI is set)", msg)
	}
	t.Skip(msg)
}

// BenchmarkInflate compares this package with compress/flate on IMAP-like
// text and mixed data compressed at level 6.
func BenchmarkInflate(b *testing.B) {
	for _, kind := range []string{"mixed", "text"} {
		var data []byte
		if kind == "mixed" {
			data = testData(3, 4<<20)
		} else {
			var buf bytes.Buffer
			for i := 0; buf.Len() < 4<<20; i++ {
				fmt.Fprintf(&buf, "* %d FETCH (UID %d FLAGS (\\Seen) ENVELOPE (\"Mon, 7 Dec 2026 10:%02d:00 +0000\" \"Re: report %d\" ((\"User %d\" NIL \"user%d\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<%d@example.org>\"))\r\n", i, 1000+i, i%60, i%50, i%17, i%17, i*7919)
			}
			data = buf.Bytes()
		}
		comp := compress(b, data, 6, len(data))
		buf := make([]byte, 64<<10)
		b.Run(kind+"/yubin", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r := NewReader(bytes.NewReader(comp))
				for {
					_, err := r.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(kind+"/compress-flate", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r := flate.NewReader(bytes.NewReader(comp))
				for {
					_, err := r.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestInflateBounded: a 64 MiB run compressed to about 64 KiB is read
// through a small buffer with no allocation beyond the reader itself.
func TestInflateBounded(t *testing.T) {
	// Not parallel: AllocsPerRun.
	var comp bytes.Buffer
	w, _ := flate.NewWriter(&comp, flate.BestCompression)
	chunk := make([]byte, 1<<20)
	for range 64 {
		w.Write(chunk)
	}
	w.Close()
	in := comp.Bytes()
	buf := make([]byte, 4096)
	var total int64
	allocs := testing.AllocsPerRun(1, func() {
		z := NewByteReader(bytes.NewReader(in))
		total = 0
		for {
			n, err := z.Read(buf)
			total += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if total != 64<<20 {
		t.Fatalf("read %d bytes", total)
	}
	// The reader and its fixed tables (when a fixed block comes).
	if allocs > 3 {
		t.Errorf("%v allocations", allocs)
	}
	t.Logf("%d compressed bytes, %d decompressed, %v allocations", len(in), total, allocs)
}
