package inflate

// maxCodeBits is the longest Huffman code DEFLATE allows (RFC 1951
// §3.2.7: code lengths 0 to 15).
const maxCodeBits = 15

// tableBits is the index width of a code's lookup table: codes up to
// this length are found with one lookup, longer ones bit by bit.
const tableBits = 9

// code is one canonical Huffman code (RFC 1951 §3.2.2) ready for
// decoding: a lookup table for the short codes and, for the rest, the
// number of codes of each length and the symbols in canonical order.
type code struct {
	// table is indexed by the next tbits input bits (the first bit in
	// the lowest position). An entry is sym<<4 | length for a code of
	// at most tbits bits whose bits match the index's low bits, or 0.
	table [1 << tableBits]uint16
	tbits uint // min(tableBits, longest code length)
	max   uint // longest code length; 0 for an empty code
	min   uint // shortest code length

	count [maxCodeBits + 1]uint16
	syms  [maxLitSyms]uint16 // symbols in canonical order
}

// init builds c from the code lengths of symbols 0..len(lengths)-1. It
// reports false for an over-subscribed code, and for an incomplete one
// except the single code of one bit that zlib's compressor produces for a
// one-symbol alphabet. All lengths zero makes an empty code: valid, but
// decoding any symbol with it is an error.
func (c *code) init(lengths []uint8) bool {
	c.count = [maxCodeBits + 1]uint16{}
	c.max, c.min = 0, maxCodeBits
	for _, l := range lengths {
		c.count[l]++
		if uint(l) > c.max {
			c.max = uint(l)
		}
		if l != 0 && uint(l) < c.min {
			c.min = uint(l)
		}
	}
	c.count[0] = 0
	c.tbits = min(c.max, tableBits)
	clear(c.table[:1<<c.tbits])
	if c.max == 0 {
		return true
	}
	// RFC 1951 §3.2.2 step 2: the first code of each length. left
	// counts the codes still free at each length; below zero is
	// over-subscribed.
	var next [maxCodeBits + 2]uint16
	var offs [maxCodeBits + 2]uint16
	left := 1
	codeVal := 0
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - int(c.count[l])
		if left < 0 {
			return false
		}
		codeVal = (codeVal + int(c.count[l-1])) << 1
		if l == 1 {
			codeVal = 0
		}
		next[l] = uint16(codeVal)
		offs[l+1] = offs[l] + c.count[l]
	}
	if left > 0 && !(c.max == 1 && c.count[1] == 1) {
		return false // incomplete
	}
	// RFC 1951 §3.2.2 step 3: consecutive codes in symbol order.
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c.syms[offs[l]] = uint16(sym)
		offs[l]++
		v := next[l]
		next[l]++
		if uint(l) > c.tbits {
			continue
		}
		// Codes are sent first bit first (RFC 1951 §3.1.1): the
		// table index holds them reversed.
		r := reverse(v, uint(l))
		e := uint16(sym)<<4 | uint16(l)
		for i := r; i < 1<<c.tbits; i += 1 << l {
			c.table[i] = e
		}
	}
	return true
}

// reverse returns the low n bits of v in reverse order.
func reverse(v uint16, n uint) uint16 {
	var r uint16
	for range n {
		r = r<<1 | v&1
		v >>= 1
	}
	return r
}
