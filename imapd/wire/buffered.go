package wire

import (
	"bufio"
	"io"
)

// Buffered returns how many bytes the client sent that are read from the
// connection but not yet parsed. After STARTTLS (and COMPRESS) it must be
// 0: bytes sent before the TLS handshake must not be taken as commands
// under TLS (the STARTTLS command-injection attack, CVE-2011-0411).
func (r *Reader) Buffered() int { return r.br.Buffered() }

// NewWriterSize returns a Writer buffering up to size bytes into w before
// it writes them out by itself.
func NewWriterSize(w io.Writer, size int) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, size)}
}
