package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
)

// Every message is stored in one wire form: CRLF line ends, no bare CR
// and no bare LF. It is decided where a message enters (SMTP DATA and
// BDAT, submission, sendmail, APPEND, importers): CanonicalReader turns
// the input into that form, strict where RFC 5321 §2.3.8 forbids bare CR
// (SMTP, sendmail), lenient elsewhere. Deliver canonicalises too, so a
// file Yubin writes is always canonical and its size is the size IMAP and
// POP3 send. Files other tools wrote (Dovecot's LDA, mutt, procmail: LF
// line ends) are read through CanonicalReader, and the index records
// their canonical size (wireSize), so RFC822.SIZE, BODY[], POP3 LIST,
// STATUS SIZE and quota always agree.

// ErrBareCR is returned by a strict CanonicalReader at a CR that is not
// followed by LF. SMTP replies 554 5.6.0 to it.
var ErrBareCR = errors.New("message contains a bare CR (a CR not followed by LF)")

// CanonicalReader returns r in the one stored form, the form SMTP's DATA
// carries (RFC 5321 §2.3.8, §4.1.1.4): every line ends in CRLF. A bare
// LF becomes CRLF; a bare CR becomes CRLF unless strict, when Read fails
// with ErrBareCR at it; a last line without a line end gets CRLF. Input
// already in that form passes through unchanged.
func CanonicalReader(r io.Reader, strict bool) io.Reader {
	return &canonicalReader{r: r, strict: strict}
}

type canonicalReader struct {
	r       io.Reader
	strict  bool
	afterCR bool // the last byte read was CR, already sent as CRLF
	midLine bool // the last byte sent was not a line end
	owe     int  // 2: CRLF, 1: LF still to send (the caller's p was full)
	err     error
}

// Read reads into the back half of p and expands forward into p: each
// byte becomes at most two, so the output never overtakes the input and
// no buffer of its own is needed.
func (c *canonicalReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := c.read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// flush writes the owed line end, as much of it as fits in p.
func (c *canonicalReader) flush(p []byte) int {
	n := 0
	for c.owe > 0 && n < len(p) {
		p[n] = "\r\n"[2-c.owe]
		n++
		c.owe--
	}
	return n
}

func (c *canonicalReader) read(p []byte) (int, error) {
	n := c.flush(p)
	if c.owe > 0 {
		return n, nil
	}
	if c.err != nil {
		if n > 0 {
			return n, nil
		}
		return 0, c.err
	}
	want := (len(p) - n) / 2
	if want == 0 {
		if n > 0 {
			return n, nil
		}
		want = 1 // a 1-byte p: a line end leaves its LF owed
	}
	start := len(p) - want
	m, err := c.r.Read(p[start:])
	src := p[start : start+m]
	for len(src) > 0 {
		if c.afterCR {
			c.afterCR = false
			if src[0] == '\n' {
				src = src[1:] // the LF of a CRLF already sent
				continue
			}
			if c.strict {
				c.err = ErrBareCR
				return n, c.err
			}
		}
		// Whole lines move at once; only line ends are looked at. Two
		// IndexByte scans (vectorised) beat one IndexAny.
		i := bytes.IndexByte(src, '\n')
		seg := src
		if i >= 0 {
			seg = src[:i]
		}
		if j := bytes.IndexByte(seg, '\r'); j >= 0 {
			i = j
		}
		if i < 0 {
			n += copy(p[n:], src)
			c.midLine = true
			break
		}
		n += copy(p[n:], src[:i])
		c.afterCR = src[i] == '\r'
		c.midLine = false
		src = src[i+1:]
		c.owe = 2
		n += c.flush(p[n:]) // short only with a 1-byte p, where src is now empty
	}
	switch {
	case err == io.EOF && c.afterCR && c.strict:
		c.err = ErrBareCR // a CR at the very end
		return n, c.err
	case err == io.EOF:
		if c.midLine {
			c.midLine = false
			c.owe = 2
			n += c.flush(p[n:])
		}
		c.err = io.EOF
		if c.owe > 0 {
			return n, nil
		}
		return n, io.EOF
	case err != nil:
		c.err = err
	}
	return n, err
}

// canonicalSize returns the size of the data in r as CanonicalReader
// (lenient) delivers it, and whether it already is canonical.
func canonicalSize(r io.Reader) (size int64, canonical bool, err error) {
	buf := countBufs.Get().(*[]byte)
	defer countBufs.Put(buf)
	// Each CR and each LF is one line end, except a CRLF, which is one
	// for the two: every line end is two bytes on the wire.
	var raw, cr, lf, crlf int64
	lastCR, lastLF := false, false
	for {
		m, err := r.Read(*buf)
		chunk := (*buf)[:m]
		if m > 0 {
			raw += int64(m)
			cr += int64(bytes.Count(chunk, []byte{'\r'}))
			lf += int64(bytes.Count(chunk, []byte{'\n'}))
			crlf += int64(bytes.Count(chunk, []byte("\r\n")))
			if chunk[0] == '\n' && lastCR {
				crlf++ // a CRLF split between two reads
			}
			lastCR, lastLF = chunk[m-1] == '\r', chunk[m-1] == '\n'
		}
		if err == io.EOF {
			size = raw + cr + lf - 2*crlf
			canonical = cr == crlf && lf == crlf
			if raw > 0 && !lastCR && !lastLF {
				size += 2 // the last line gets its CRLF
				canonical = false
			}
			return size, canonical, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}

// wireSize returns the size of a message file as CanonicalReader
// delivers it. It reads the file: a name's ",S=" or Dovecot's ",W=" is
// not the canonical size of a file with bare CRs or of one stored raw
// by an older Yubin.
func wireSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, _, err := canonicalSize(f)
	return size, err
}

var countBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
