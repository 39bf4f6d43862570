package imapd

import (
	"bufio"
	"compress/flate"
	"io"
	"net"
	"sync"

	"yubin/imapd/inflate"
)

// COMPRESS=DEFLATE (RFC 4978): after the CRLF of the tagged OK to
// "COMPRESS DEFLATE" both directions of the connection carry one raw
// DEFLATE stream each (RFC 1951, no zlib or gzip header; RFC 4978 §3,
// §4 "windowBits -8 to -15"). The client sends nothing after COMPRESS
// until it sees that OK (RFC 4978 §3).
//
// # Contract
//
// compressConn flushes on every Write: when Write returns, everything
// given to it so far is on the connection in a form the client can
// decompress completely. There is no Flush method. The server should
// therefore hand it whole responses (or a batch of them) per Write, from
// its own buffered writer, rather than many small pieces: each Write
// costs a sync flush, an empty stored block of 4 to 5 bytes. Writes may
// come from several goroutines (a command and an IDLE update): they are
// serialised.
//
// # Where it goes
//
// Above TLS, which is how RFC 4978 §3 wants it (compress first, then
// encrypt) and how a session gets it: COMPRESS arrives on an established
// session, so the server replaces the net.Conn it reads and writes with
// deflateConnBuffered(conn, itsBufferedReader):
//
//	session (wire.Writer, 64 KiB) → deflate → tls.Conn → TCP
//
// The session's writer already gathers a command's responses and writes
// them once, so each sync flush here ends a whole batch of responses.
//
// # Reading and bounds
//
// Reads decompress through Yubin's own inflate.Reader over a
// bufio.Reader, not compress/flate's: flate keeps the bytes of a finished
// Huffman block until its window fills or a stored block arrives, so a
// client that ends each command with zlib's Z_PARTIAL_FLUSH (isync's
// mbsync: the end of the block and an empty fixed block, not
// byte-aligned) would never be answered. inflate returns a block's bytes
// at its end, before it reads the next block's header, and reads input
// only as the data it decodes needs. Each Read returns at most len(p)
// bytes, and inflate keeps only its 32 KiB window, so a small input that
// expands enormously (a decompression bomb) costs memory only for what
// the caller asks for: it becomes a long stream of command bytes, and
// the command reader's limits (wire.Options MaxLineLength,
// MaxLiteralSize, MaxCommandSize; BAD [TOOBIG], then the connection is
// closed when Skip gives up) apply to the decompressed
// bytes exactly as they do to plain ones. Corrupt compressed input is a
// read error (*inflate.CorruptInputError): the server closes the
// connection.

// # Cost
//
// A compressing connection holds flate's compressor, about 0.8 MB at
// level 5 (1.2 MB at level 1), and its decompressor, about 40 KB (the
// inflate.Reader's 36 KiB and the bufio.Reader under it): the server
// should count COMPRESS sessions against its connection limits.
// Compression runs at roughly 30 to 60 MB/s of responses per core here,
// to about 10% of their size for FETCH ENVELOPE listings
// (BenchmarkDeflateConn).

// deflateLevel is the compression level of the server's output, within
// the "1-5" RFC 4978 §4 suggests for the usual case (see
// BenchmarkDeflateConn for the levels compared).
const deflateLevel = 5

// compressConn is a net.Conn carrying RFC 4978 DEFLATE streams.
type compressConn struct {
	net.Conn
	r io.Reader

	mu  sync.Mutex
	w   *flate.Writer
	err error // the first write or flush error; later writes fail with it
}

// deflateConn starts COMPRESS=DEFLATE on c: what is written is
// compressed, what is read is decompressed. The server must call it only
// when nothing the client sent after the COMPRESS command is buffered
// elsewhere; otherwise use deflateConnBuffered.
func deflateConn(c net.Conn) net.Conn {
	return deflateConnBuffered(c, bufio.NewReader(c))
}

// deflateConnBuffered is deflateConn for a server that reads c through
// br: the compressed bytes br already holds (a client that sent its next
// command right behind COMPRESS) are decompressed first. br must read
// from c and must not be used by the caller afterwards.
func deflateConnBuffered(c net.Conn, br *bufio.Reader) net.Conn {
	return newCompressConn(c, br, deflateLevel)
}

func newCompressConn(c net.Conn, br *bufio.Reader, level int) *compressConn {
	// flate.NewWriter fails only for an invalid level.
	w, _ := flate.NewWriter(c, level)
	return &compressConn{Conn: c, r: inflate.NewReader(br), w: w}
}

// Read returns decompressed bytes, at most len(p).
func (c *compressConn) Read(p []byte) (int, error) {
	return c.r.Read(p)
}

// Write compresses p and sync-flushes it to the connection.
func (c *compressConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err == nil {
		err = c.w.Flush()
	}
	if err != nil {
		c.err = err
		return n, err
	}
	return n, nil
}

// Close closes the connection. Nothing is left to flush (every Write
// flushed), and the streams need no end marker: the connection's end
// ends them.
func (c *compressConn) Close() error {
	return c.Conn.Close()
}
