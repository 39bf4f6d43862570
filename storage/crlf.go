package storage

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Message files written by Yubin hold the message exactly as received over
// SMTP, with CRLF line ends. Other tools (Dovecot's LDA, mutt, procmail)
// write LF line ends. IMAP and POP3 send CRLF, so readers convert bare LFs
// with CRLFReader and Message.Size is the converted ("wire") size.

// CRLFReader returns r with every bare LF turned into CRLF. Files that are
// already CRLF pass through unchanged.
func CRLFReader(r io.Reader) io.Reader { return &crlfReader{r: r} }

type crlfReader struct {
	r       io.Reader
	lastCR  bool // the previous byte read was '\r'
	pending bool // an LF is owed after an inserted CR
}

// Read reads into the back half of p and expands forward into p: the
// output never overtakes the input (each byte becomes at most two), so
// no buffer of its own is needed.
func (c *crlfReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if c.pending {
		p[0] = '\n'
		n, c.pending, c.lastCR = 1, false, false
	}
	want := (len(p) - n) / 2
	if want == 0 {
		if n > 0 {
			return n, nil
		}
		want = 1 // a 1-byte p: a bare LF leaves its LF pending
	}
	start := len(p) - want
	m, err := c.r.Read(p[start:])
	src := p[start : start+m]
	// Whole lines move at once; only a bare LF costs a byte.
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			c.lastCR = src[len(src)-1] == '\r'
			n += copy(p[n:], src)
			break
		}
		if i > 0 {
			c.lastCR = src[i-1] == '\r'
		}
		bare := !c.lastCR
		n += copy(p[n:], src[:i])
		src = src[i+1:]
		if bare {
			p[n] = '\r'
			n++
			if n == len(p) { // only with a 1-byte p
				c.pending = true
				break
			}
		}
		p[n] = '\n'
		n++
		c.lastCR = false
	}
	if c.pending && err == io.EOF {
		err = nil // the owed LF comes first; the source reports EOF again
	}
	return n, err
}

// wireSize returns the size of a message file as CRLFReader delivers it:
// Dovecot's ",W=<n>" when the name has it, else counted from the file.
func wireSize(path, key string) (int64, error) {
	if _, rest, ok := strings.Cut(key, ",W="); ok {
		if end := strings.IndexAny(rest, ",:"); end >= 0 {
			rest = rest[:end]
		}
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := countBufs.Get().(*[]byte)
	defer countBufs.Put(buf)
	// The wire size is the file size plus one CR per bare LF.
	var size int64
	lastCR := false
	for {
		m, err := f.Read(*buf)
		chunk := (*buf)[:m]
		if m > 0 {
			size += int64(m)
			size += int64(bytes.Count(chunk, []byte{'\n'}) - bytes.Count(chunk, []byte("\r\n")))
			if chunk[0] == '\n' && lastCR {
				size-- // a CRLF split between two reads
			}
			lastCR = chunk[m-1] == '\r'
		}
		if err == io.EOF {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

var countBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
