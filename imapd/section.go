package imapd

import (
	"bytes"
	"io"

	"github.com/emersion/go-imap/v2"
)

// Sections of FETCH BODY[section] below the top level (RFC 9051 §6.4.5,
// RFC 3501 §6.4.5) are byte ranges of the message as IMAP sends it,
// found with the one-pass MIME parser of bodystructure.go, which records
// where each part's header and body start and end. A range is streamed
// from the file; only HEADER.FIELDS (.NOT) reads a header into memory,
// at most maxHeader bytes of it.
//
//   - Part numbers: the parts of a multipart are 1, 2, ...; a message
//     that is not multipart has only part 1, its body. A part of type
//     message/rfc822 continues into the message inside: 2.1 is the first
//     part of that message's body (or the body itself when it is not
//     multipart). A non-multipart message body has no sub-parts; a leaf
//     part of a multipart has only sub-part 1, itself (the RFC gives it
//     none; Dovecot answers 1.1 of a text part so, and a client asking
//     gets the part).
//   - BODY[part] is the part's body (for message/rfc822 the whole
//     message inside), BODY[part.MIME] the part's own header (for part 1
//     of a non-multipart message, the message's header),
//     BODY[part.HEADER], BODY[part.TEXT] and HEADER.FIELDS (.NOT) are
//     those of the message inside a message/rfc822 part: for another
//     part they are not defined and are answered NIL, as is a part that
//     does not exist.
//   - HEADER.FIELDS keeps the fields whose names match one of the list
//     (case-insensitively), .NOT those that match none, in header order
//     as written (folding and line ends kept), followed by the blank
//     line even when no field matches, unless the header has none (RFC
//     3501 §6.4.5: "the blank line is included in all header fetches,
//     except in the case of a message which has no body and no blank
//     line").
//   - A part ends before the line end that precedes the next boundary
//     delimiter (RFC 2046 §5.1.1: it belongs to the delimiter), also
//     after the close delimiter of a nested multipart and after a header
//     without body, so BODY[part] is as long as BODYSTRUCTURE says.

// section is a byte range of the message.
type section struct {
	off, size int64
}

// findPart returns the part section-part names, or nil when the message
// has none.
func findPart(root *bodyPart, path []int) *bodyPart {
	var p *bodyPart
	b, isBody := root, true // b is a message's body, not a leaf part
	for i, n := range path {
		if i > 0 {
			switch {
			case p.inner:
				b, isBody = p.Message, true
			case p.isMultipart():
				b, isBody = p, false
			case p == b && isBody:
				return nil // a non-multipart message has only part 1
			default:
				b, isBody = p, false // a leaf of a multipart: 1 is itself
			}
		}
		switch {
		case b.isMultipart():
			if n < 1 || n > len(b.Parts) {
				return nil
			}
			p = b.Parts[n-1]
		case n == 1:
			p = b
		default:
			return nil
		}
	}
	return p
}

// sectionRange returns the range a section names in a message of the
// given size whose structure is root, and whether it exists. For
// HEADER.FIELDS (.NOT) it is the header the fields are picked from.
func sectionRange(root *bodyPart, size int64, bs *imap.FetchItemBodySection) (section, bool) {
	spec := bs.Specifier
	if len(bs.HeaderFields) > 0 || len(bs.HeaderFieldsNot) > 0 {
		spec = imap.PartSpecifierHeader
	}
	msg := root // the message HEADER and TEXT are of
	if len(bs.Part) > 0 {
		p := findPart(root, bs.Part)
		if p == nil {
			return section{}, false
		}
		switch spec {
		case imap.PartSpecifierNone:
			return span(p.BodyOff, p.End), true
		case imap.PartSpecifierMIME:
			return span(p.HeaderOff, p.BodyOff), true
		}
		if !p.inner {
			return section{}, false // RFC 9051 §6.4.5: only of message/rfc822
		}
		msg = p.Message
	}
	switch spec {
	case imap.PartSpecifierHeader:
		return span(msg.HeaderOff, msg.BodyOff), true
	case imap.PartSpecifierText:
		if msg == root {
			return span(msg.BodyOff, size), true
		}
		return span(msg.BodyOff, msg.End), true
	case imap.PartSpecifierNone:
		return span(0, size), true
	}
	return section{}, false
}

func span(start, end int64) section {
	return section{off: start, size: max(end-start, 0)}
}

// headerFields returns the fields of header that HEADER.FIELDS (names)
// or HEADER.FIELDS.NOT (not) selects, then the blank line.
func headerFields(header []byte, names []string, not bool) []byte {
	var out []byte
	blank := forEachRawField(header, func(name string, raw []byte) {
		match := false
		for _, n := range names {
			if equalFoldASCII(n, name) {
				match = true
				break
			}
		}
		if match != not {
			out = append(out, raw...)
			if raw[len(raw)-1] != '\n' {
				out = append(out, '\r', '\n') // the last line of a header-only message
			}
		}
	})
	if !blank {
		return out
	}
	return append(out, '\r', '\n')
}

// forEachRawField calls fn for each field of header (RFC 5322 §2.2) in
// order with its lines as written: the name line and its continuation
// lines, line ends included. It stops at the first blank line. A line
// that is neither a field nor a continuation is skipped, and so are
// continuation lines before the first field. It reports whether the
// header ended with a blank line.
func forEachRawField(header []byte, fn func(name string, raw []byte)) bool {
	var name string
	start, have := 0, false
	flush := func(end int) {
		if have {
			fn(name, header[start:end])
			have = false
		}
	}
	for pos := 0; pos < len(header); {
		next := len(header)
		if eol := bytes.IndexByte(header[pos:], '\n'); eol >= 0 {
			next = pos + eol + 1
		}
		line := bytes.TrimRight(header[pos:next], "\r\n")
		switch {
		case len(line) == 0:
			flush(pos)
			return true
		case line[0] == ' ' || line[0] == '\t':
			// A continuation: part of the current field, if any.
		default:
			flush(pos)
			if colon := bytes.IndexByte(line, ':'); colon > 0 {
				name = string(bytes.TrimRight(line[:colon], " \t"))
				start, have = pos, true
			}
		}
		pos = next
	}
	flush(len(header))
	return false
}

// readSection reads up to max bytes of a section into memory.
func readSection(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}
