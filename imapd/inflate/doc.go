// Package inflate is Yubin's raw DEFLATE decompressor (RFC 1951), written
// for IMAP COMPRESS=DEFLATE (RFC 4978), where the peer flushes its
// compressor after every command and waits for the answer.
//
// # Why not compress/flate
//
// Go's compress/flate decompressor hands out decompressed bytes only when
// its window fills or at a stored block (what zlib's Z_SYNC_FLUSH ends
// with). At the end of an ordinary compressed block it keeps them and
// goes on to read the next block's header. zlib's Z_PARTIAL_FLUSH (what
// isync's mbsync uses) ends a command with the end of a Huffman block and
// an empty fixed-Huffman block that is not byte-aligned: the command's
// bytes are all on the wire, but flate sits on them, waiting for input
// the peer will only send after it got an answer.
//
// # Contract
//
// NewReader(r) returns an io.Reader whose Read returns decoded bytes as
// soon as it has them, at the latest
//
//   - at the end of every block (stored, fixed or dynamic Huffman, RFC
//     1951 §3.2.3), before the next block's header is read, and
//   - as soon as the caller's buffer is full.
//
// It reads from r only when the bits it holds cannot complete the element
// it is decoding (a header field, a Huffman code, extra bits, a stored
// byte): it never waits for input that the data before it does not need.
// A Huffman code is matched with the bits at hand first (RFC 1951 §3.2.2
// codes are prefix-free), so a 7-bit end-of-block code needs 7 bits, not
// a table's 9. If r is an io.ByteReader it is read one byte at a time and
// nothing past the final block's last byte is consumed; any other reader
// is wrapped in a bufio.Reader, which may read ahead.
//
// # Bounds and errors
//
// A reader holds the 32 KiB window (RFC 1951 §2), the Huffman tables and
// no more, whatever the input: a Read returns at most len(p) bytes, so a
// stream that expands enormously costs only what the caller asks for.
// Input that is not DEFLATE is a *CorruptInputError: block type 3, a
// stored block whose NLEN is not LEN's complement, an over-subscribed or
// incomplete code (one code of one bit is allowed, as zlib and
// compress/flate allow it), HLIT over 286 or HDIST over 30 codes, a
// repeat code 16 with no previous length or a repeat running past the
// lengths, literal/length symbols 286 and 287, distance symbols 30 and 31,
// a symbol of an empty code, and a distance reaching before the start of
// the output or beyond the 32 KiB window (RFC 1951 §3.2.5). Input that
// ends inside the stream is io.ErrUnexpectedEOF; after the final block
// Read returns io.EOF. Errors are sticky.
//
// # Differences from compress/flate
//
// Same bytes and the same error-or-not on any input (FuzzInflate checks
// it); only the points at which bytes are handed out differ, as above,
// and on a stream cut short this package may give a few more bytes
// before io.ErrUnexpectedEOF (compress/flate wants as many bits as the
// end-of-block code has before it decodes any symbol).
package inflate
