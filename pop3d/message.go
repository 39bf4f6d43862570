package pop3d

import (
	"bufio"
	"io"

	"yubin/storage"
)

// The message octets a POP3 client receives.
//
// RFC 1939 §3 sends a message as CRLF-terminated lines, each line that
// starts with "." stuffed with one more ".", followed by ".\r\n". The
// sizes in STAT, LIST and the RETR reply (RFC 1939 §5, §11) are the size
// of the message itself: the octets the client holds once it has removed
// the stuffing and the terminating line. Yubin makes that exact and the
// same as IMAP's RFC822.SIZE: the message is read through
// storage.CanonicalReader, the one stored form (every line ends in CRLF;
// a bare LF or bare CR in a file another tool wrote is sent as CRLF; a
// last line without a line end gets CRLF). Files Yubin delivers are
// already in that form, so their size is the file size.

// normalizedSize returns the POP3 size of the message in r.
func normalizedSize(r io.Reader) (int64, error) {
	return io.Copy(io.Discard, storage.CanonicalReader(r, false))
}

// copyMessage writes the message in r to w in POP3 form (RFC 1939 §3):
// CRLF line ends, dot-stuffed when stuff is set. bodyLines < 0 copies the
// whole message; otherwise the header, the blank line that ends it, and
// at most bodyLines lines of the body (TOP, RFC 1939 §7). It does not
// write the terminating ".\r\n". It returns the octets of the message
// written, not counting stuffing.
func copyMessage(w *bufio.Writer, r io.Reader, bodyLines int, stuff bool) (int64, error) {
	c := &msgCopier{w: w, header: true, limit: bodyLines, stuff: stuff}
	br := bufio.NewReaderSize(storage.CanonicalReader(r, false), 32<<10)
	for !c.done() {
		b, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.n, err
		}
		c.put(b)
	}
	if !c.done() && (c.lineLen > 0 || c.pendingCR) {
		if c.pendingCR {
			c.pendingCR = false
			c.emit('\r')
		}
		c.endLine()
	}
	return c.n, c.err
}

// msgCopier is copyMessage's state machine, one input byte at a time.
type msgCopier struct {
	w         *bufio.Writer
	n         int64 // message octets written (without stuffing)
	err       error
	stuff     bool
	header    bool // still in the header section
	limit     int  // body lines to copy; < 0 = all
	body      int  // body lines copied
	lineLen   int  // octets of the current line written so far
	pendingCR bool // a CR was read; the next byte decides what it was
}

func (c *msgCopier) done() bool {
	return c.err != nil || (!c.header && c.limit >= 0 && c.body >= c.limit)
}

func (c *msgCopier) emit(b byte) {
	if c.err != nil {
		return
	}
	if c.lineLen == 0 && b == '.' && c.stuff {
		c.err = c.w.WriteByte('.')
	}
	if c.err == nil {
		c.err = c.w.WriteByte(b)
	}
	c.n++
	c.lineLen++
}

func (c *msgCopier) put(b byte) {
	if c.pendingCR {
		c.pendingCR = false
		if b == '\n' {
			c.endLine()
			return
		}
		c.emit('\r') // a CR inside a line is content
	}
	switch b {
	case '\r':
		c.pendingCR = true
	case '\n':
		c.endLine()
	default:
		c.emit(b)
	}
}

// endLine writes CRLF and advances the header/body accounting.
func (c *msgCopier) endLine() {
	if c.err == nil {
		_, c.err = c.w.WriteString("\r\n")
	}
	c.n += 2
	if c.header {
		if c.lineLen == 0 {
			c.header = false
		}
	} else {
		c.body++
	}
	c.lineLen = 0
}
