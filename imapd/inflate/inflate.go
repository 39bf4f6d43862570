package inflate

import (
	"bufio"
	"fmt"
	"io"
)

const (
	windowSize = 1 << 15 // RFC 1951 §2: distances reach back at most 32768 bytes
	windowMask = windowSize - 1

	maxLitSyms  = 288 // literal/length alphabet incl. the two unused symbols (§3.2.5)
	maxHLIT     = 286 // literal/length codes a dynamic header may define (§3.2.7)
	maxHDIST    = 30  // distance codes a dynamic header may define
	endOfBlock  = 256
	numCLCodes  = 19
	maxLenCodes = maxHLIT + maxHDIST
)

// RFC 1951 §3.2.5: base lengths and extra bits of length symbols 257..285.
var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}

// RFC 1951 §3.2.5: base distances and extra bits of distance symbols 0..29.
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// RFC 1951 §3.2.7: the order in which code length code lengths are sent.
var clOrder = [numCLCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// CorruptInputError reports input that is not a DEFLATE stream: Offset
// is the number of input bytes read when the fault was found.
type CorruptInputError struct {
	Offset int64
	Reason string
}

func (e *CorruptInputError) Error() string {
	return fmt.Sprintf("inflate: corrupt input at byte %d: %s", e.Offset, e.Reason)
}

// state is where the decoder is between calls.
type state uint8

const (
	stHeader  state = iota // next: a block header
	stStored               // inside a stored block, storedLeft bytes to go
	stHuffman              // inside a Huffman block
	stDone                 // after the final block
)

// Reader decodes one raw DEFLATE stream.
type Reader struct {
	r       io.ByteReader
	roffset int64 // input bytes read

	// Bit buffer: the next nb input bits, first bit lowest. Bits above
	// nb are zero.
	b  uint64
	nb uint

	st         state
	final      bool // the current block is the last one
	boundary   bool // a block ended since the last Read returned
	storedLeft int
	copyLen    int // a match's bytes still to copy
	copyDist   int
	lit, dist  *code // the current block's codes
	err        error

	// Window: the last 32 KiB of output in a ring. pos is the next
	// write index, hist the bytes it holds (at most windowSize),
	// pending the newest of them not yet returned.
	win     [windowSize]byte
	pos     int
	hist    int
	pending int

	fixedLit, fixedDist *code // built on first use
	dynLit, dynDist     code
	lens                [maxLenCodes]uint8
}

// NewReader returns a reader decoding the raw DEFLATE stream read from
// r (no zlib or gzip framing). If r is not an io.ByteReader it is
// wrapped in a bufio.Reader.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Reader{r: br}
}

// NewByteReader is NewReader for a reader that reads bytes one at a time
// and is read no further than the stream's last byte.
func NewByteReader(r io.ByteReader) *Reader {
	return &Reader{r: r}
}

// Read returns decoded bytes: what is pending, then what it decodes, up
// to len(p), returning early at the end of a block that gave bytes (see
// the package comment).
func (z *Reader) Read(p []byte) (int, error) {
	n := 0
	for {
		n += z.drain(p[n:])
		if n == len(p) {
			return n, nil
		}
		if z.boundary {
			z.boundary = false
			if n > 0 {
				return n, nil
			}
		}
		if z.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, z.err
		}
		z.err = z.step(min(len(p)-n, windowSize))
	}
}

// drain copies pending bytes out of the window.
func (z *Reader) drain(p []byte) int {
	n := 0
	for z.pending > 0 && n < len(p) {
		start := (z.pos - z.pending) & windowMask
		end := start + z.pending
		if end > windowSize {
			end = windowSize
		}
		c := copy(p[n:], z.win[start:end])
		n += c
		z.pending -= c
	}
	return n
}

// step decodes at most limit bytes into the window, stopping early at a
// block's end.
func (z *Reader) step(limit int) error {
	switch z.st {
	case stHeader:
		return z.header()
	case stStored:
		return z.stored(limit)
	case stHuffman:
		return z.huffman(limit)
	default:
		return io.EOF
	}
}

func (z *Reader) corrupt(reason string) error {
	return &CorruptInputError{Offset: z.roffset, Reason: reason}
}

// need makes sure the bit buffer holds at least n bits (n <= 32),
// reading bytes only as far as that takes.
func (z *Reader) need(n uint) error {
	for z.nb < n {
		if err := z.more(); err != nil {
			return err
		}
	}
	return nil
}

// more reads one byte into the bit buffer.
func (z *Reader) more() error {
	c, err := z.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	z.roffset++
	z.b |= uint64(c) << z.nb
	z.nb += 8
	return nil
}

// bits takes n bits (n <= 32) from the buffer, reading as needed.
func (z *Reader) bits(n uint) (uint32, error) {
	if err := z.need(n); err != nil {
		return 0, err
	}
	v := uint32(z.b & (1<<n - 1))
	z.b >>= n
	z.nb -= n
	return v, nil
}

// blockEnd ends the current block.
func (z *Reader) blockEnd() {
	z.boundary = true
	if z.final {
		z.st = stDone
	} else {
		z.st = stHeader
	}
}

// header reads a block header (RFC 1951 §3.2.3) and, for a stored or
// dynamic block, what follows it up to the data.
func (z *Reader) header() error {
	h, err := z.bits(3)
	if err != nil {
		return err
	}
	z.final = h&1 == 1
	switch h >> 1 {
	case 0: // stored, RFC 1951 §3.2.4
		z.b >>= z.nb & 7 // skip to the byte boundary
		z.nb -= z.nb & 7
		v, err := z.bits(32)
		if err != nil {
			return err
		}
		n, nn := v&0xffff, v>>16
		if n != ^nn&0xffff {
			return z.corrupt("stored block NLEN is not the complement of LEN")
		}
		z.storedLeft = int(n)
		z.st = stStored
		if n == 0 {
			z.blockEnd()
		}
		return nil
	case 1: // fixed Huffman codes, RFC 1951 §3.2.6
		if z.fixedLit == nil {
			z.fixedLit, z.fixedDist = fixedCodes()
		}
		z.lit, z.dist = z.fixedLit, z.fixedDist
		z.st = stHuffman
		return nil
	case 2: // dynamic Huffman codes, RFC 1951 §3.2.7
		if err := z.dynamic(); err != nil {
			return err
		}
		z.lit, z.dist = &z.dynLit, &z.dynDist
		z.st = stHuffman
		return nil
	default:
		return z.corrupt("block type 3")
	}
}

// fixedCodes builds the fixed literal/length and distance codes (RFC 1951
// §3.2.6). Distance symbols 30 and 31 have codes but never occur.
func fixedCodes() (lit, dist *code) {
	var l [maxLitSyms]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	lit, dist = new(code), new(code)
	lit.init(l[:])
	dist.init(d[:])
	return lit, dist
}

// dynamic reads a dynamic block's code definitions (RFC 1951 §3.2.7).
func (z *Reader) dynamic() error {
	v, err := z.bits(14)
	if err != nil {
		return err
	}
	hlit := int(v&0x1f) + 257
	hdist := int(v>>5&0x1f) + 1
	hclen := int(v>>10&0xf) + 4
	if hlit > maxHLIT {
		return z.corrupt("more than 286 literal/length codes")
	}
	if hdist > maxHDIST {
		return z.corrupt("more than 30 distance codes")
	}
	var cl [numCLCodes]uint8
	for i := range hclen {
		v, err := z.bits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(v)
	}
	// The code length code is decoded with dynLit's tables, which the
	// literal/length code replaces below.
	clc := &z.dynLit
	if !clc.init(cl[:]) {
		return z.corrupt("bad code length code")
	}
	lens := z.lens[:hlit+hdist]
	for i := 0; i < len(lens); {
		sym, err := z.decode(clc)
		if err != nil {
			return err
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep uint32
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return z.corrupt("repeat with no previous length")
			}
			val = lens[i-1]
			rep, err = z.bits(2)
			rep += 3
		case 17:
			rep, err = z.bits(3)
			rep += 3
		default: // 18
			rep, err = z.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+int(rep) > len(lens) {
			return z.corrupt("code lengths repeat past the end")
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if !z.dynLit.init(lens[:hlit]) {
		return z.corrupt("bad literal/length code")
	}
	if !z.dynDist.init(lens[hlit:]) {
		return z.corrupt("bad distance code")
	}
	return nil
}

// decode reads one symbol of c. It reads a byte only when the bits it
// holds cannot complete a code: the table is looked up with the bits at
// hand (the missing high index bits are zero), and an entry no longer
// than those bits is the symbol, because codes are prefix-free.
func (z *Reader) decode(c *code) (int, error) {
	if c.max == 0 {
		return 0, z.corrupt("symbol of an empty code")
	}
	for z.nb < c.min {
		if err := z.more(); err != nil {
			return 0, err
		}
	}
	for {
		e := c.table[z.b&(1<<c.tbits-1)]
		if l := uint(e & 15); l != 0 && l <= z.nb {
			z.b >>= l
			z.nb -= l
			return int(e >> 4), nil
		}
		if z.nb >= c.tbits {
			if c.max > c.tbits {
				return z.decodeLong(c)
			}
			return 0, z.corrupt("invalid Huffman code")
		}
		if err := z.more(); err != nil {
			return 0, err
		}
	}
}

// decodeLong decodes a code longer than the table bit by bit, with the
// counts of codes per length (RFC 1951 §3.2.2: the codes of one length
// are consecutive, and each length's first code follows the last code of
// the shorter lengths).
func (z *Reader) decodeLong(c *code) (int, error) {
	codeVal, first, index := 0, 0, 0
	for l := uint(1); l <= c.max; l++ {
		if l > z.nb {
			if err := z.more(); err != nil {
				return 0, err
			}
		}
		codeVal |= int(z.b>>(l-1)) & 1
		cnt := int(c.count[l])
		if codeVal-first < cnt {
			z.b >>= l
			z.nb -= l
			return int(c.syms[index+codeVal-first]), nil
		}
		index += cnt
		first = (first + cnt) << 1
		codeVal <<= 1
	}
	return 0, z.corrupt("invalid Huffman code")
}

// stored copies up to limit bytes of a stored block.
func (z *Reader) stored(limit int) error {
	for z.storedLeft > 0 && limit > 0 {
		var c byte
		if z.nb >= 8 {
			c = byte(z.b)
			z.b >>= 8
			z.nb -= 8
		} else {
			var err error
			c, err = z.r.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			z.roffset++
		}
		z.put(c)
		z.storedLeft--
		limit--
	}
	if z.storedLeft == 0 {
		z.blockEnd()
	}
	return nil
}

// put appends one byte to the window.
func (z *Reader) put(c byte) {
	z.win[z.pos] = c
	z.pos = (z.pos + 1) & windowMask
	z.pending++
	if z.hist < windowSize {
		z.hist++
	}
}

// huffman decodes up to limit bytes of a Huffman block (RFC 1951
// §3.2.5), stopping at its end-of-block symbol.
func (z *Reader) huffman(limit int) error {
	for limit > 0 {
		if z.copyLen > 0 {
			n := min(z.copyLen, limit)
			z.copyMatch(n)
			z.copyLen -= n
			limit -= n
			continue
		}
		// Fast path: a whole table index at hand and a short code.
		var sym int
		if c := z.lit; z.nb >= c.tbits {
			if e := c.table[z.b&(1<<c.tbits-1)]; e&15 != 0 {
				z.b >>= e & 15
				z.nb -= uint(e & 15)
				sym = int(e >> 4)
				if sym < endOfBlock {
					z.put(byte(sym))
					limit--
					continue
				}
			}
		}
		if sym == 0 {
			var err error
			if sym, err = z.decode(z.lit); err != nil {
				return err
			}
		}
		switch {
		case sym < endOfBlock:
			z.put(byte(sym))
			limit--
			continue
		case sym == endOfBlock:
			z.blockEnd()
			return nil
		case sym > 285:
			return z.corrupt("invalid literal/length symbol")
		}
		sym -= 257
		extra, err := z.bits(uint(lengthExtra[sym]))
		if err != nil {
			return err
		}
		length := int(lengthBase[sym]) + int(extra)
		dsym, err := z.decode(z.dist)
		if err != nil {
			return err
		}
		if dsym >= maxHDIST {
			return z.corrupt("invalid distance symbol")
		}
		extra, err = z.bits(uint(distExtra[dsym]))
		if err != nil {
			return err
		}
		dist := int(distBase[dsym]) + int(extra)
		if dist > z.hist {
			return z.corrupt("distance before the start of the output")
		}
		z.copyLen, z.copyDist = length, dist
	}
	return nil
}

// copyMatch copies n bytes from copyDist back (the source may overlap
// the bytes being written, RFC 1951 §3.2.3).
func (z *Reader) copyMatch(n int) {
	src := (z.pos - z.copyDist) & windowMask
	d := z.copyDist // pos - src, a multiple of copyDist
	for n > 0 {
		// Copy in runs that wrap neither the source nor the
		// destination and do not outrun the source.
		run := min(n, windowSize-src, windowSize-z.pos, d)
		copy(z.win[z.pos:z.pos+run], z.win[src:src+run])
		z.pos = (z.pos + run) & windowMask
		n -= run
		z.pending += run
		z.hist = min(z.hist+run, windowSize)
		if run == d {
			// The output from src on repeats with period
			// copyDist, so it may be copied from src again,
			// twice as far back.
			d *= 2
		} else {
			src = (src + run) & windowMask
		}
	}
}
