package smtpd

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// The data guard sees what go-smtp's DATA reader hides. That reader ends
// data only at <CR><LF>.<CR><LF> (so SMTP smuggling's other endings never
// end it here) but unstuffs a line that starts with a dot byte by byte:
// after <CR><LF>, "." followed by a bare LF loses the dot, and "." CR
// followed by anything but LF loses the dot and the CR. Those are the
// ends of data other servers take (RFC 5321 §4.1.1.4 allows only
// <CR><LF>.<CR><LF>), so a message holding one is refused with 554 5.6.0
// instead of being stored with bytes quietly missing.
//
// go-smtp tees every byte it reads from and writes to a connection, in
// plain text after TLS, to its Server's Debug writer; each connection gets
// a go-smtp Server of its own (server.go) whose Debug is that
// connection's dataGuard. The guard needs no protocol state: the two
// patterns mean nothing in a command, the server's replies never hold
// them, and a reply's closing CRLF is where data starts after 354.

// errAmbiguousEnd is what the body reader returns at the end of data
// when the guard saw such an ending in the connection.
var errAmbiguousEnd = errors.New("data holds a line of a dot ended by a bare CR or LF (an end of data other servers take)")

// dataGuard scans a connection's plaintext for "\r\n.\n" and for
// "\r\n.\r" followed by a byte other than LF. The next DATA message to
// end after it was seen is refused, and that clears it. The guard does
// not follow the protocol, so it cannot clear itself at a 354: an
// attacker pipelines the data with its DATA command. A client whose
// message was refused before its end of data (for a bare CR) and held
// such a line also has its next message refused; a correct client never
// sends one (it doubles every dot that starts a line).
type dataGuard struct {
	mu      sync.Mutex
	last    uint32 // the four bytes before the next one, oldest highest
	tripped bool
}

const (
	crlfDot   = '\r'<<16 | '\n'<<8 | '.'
	crlfDotCR = crlfDot<<8 | '\r'
)

// Write implements io.Writer for go-smtp's Server.Debug.
func (g *dataGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// The first bytes finish what the last write began (a pattern is at
	// most five bytes, four of them remembered); those wholly in p are
	// found by bytes.Index, vectorised, not byte by byte.
	head := min(len(p), 4)
	for _, c := range p[:head] {
		if g.last&0xffffff == crlfDot && c == '\n' || g.last == crlfDotCR && c != '\n' {
			g.tripped = true
		}
		g.last = g.last<<8 | uint32(c)
	}
	for i := 0; i < len(p) && !g.tripped; {
		j := bytes.Index(p[i:], []byte("\r\n."))
		if j < 0 {
			break
		}
		k := i + j + 3 // the byte after the dot
		if k < len(p) && p[k] == '\n' || k+1 < len(p) && p[k] == '\r' && p[k+1] != '\n' {
			g.tripped = true
		}
		i += j + 1
	}
	if len(p) >= 4 {
		g.last = uint32(p[len(p)-4])<<24 | uint32(p[len(p)-3])<<16 | uint32(p[len(p)-2])<<8 | uint32(p[len(p)-1])
	}
	return len(p), nil
}

// take reports whether the guard found an ambiguous end of data since
// the last take.
func (g *dataGuard) take() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tripped
	g.tripped = false
	return t
}

// guardedReader passes a DATA body through and turns its end into
// errAmbiguousEnd when the guard has seen one: go-smtp has read every
// byte before the end of data by then, and the guard with it.
type guardedReader struct {
	r io.Reader
	g *dataGuard
}

func (r guardedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF && r.g.take() {
		err = errAmbiguousEnd
	}
	return n, err
}
