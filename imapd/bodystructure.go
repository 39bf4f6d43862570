package imapd

import (
	"bufio"
	"bytes"
	"io"
	"slices"

	imapwire "yubin/imapd/wire"
)

// BODY and BODYSTRUCTURE (RFC 9051 §7.5.2 and §9 "body", RFC 3501
// §7.4.2) are built here in one pass over the message file, reading line
// by line: no part is held in memory, only the header fields of each
// part.
//
//   - Sizes (body-fld-octets) are the part's bytes as stored, in its
//     transfer encoding, from after the blank line that ends its header
//     to before the CRLF that precedes the next boundary delimiter (RFC
//     2046 §5.1.1: that CRLF belongs to the delimiter). Lines
//     (body-fld-lines, for text/* and message/rfc822) are the line ends
//     (LF) in that range, so a last line without a line end does not
//     count, as in Dovecot. FETCH parses the message as IMAP sends it
//     (CRLF line ends, fetchbody.go), so a file stored with LF ends gets
//     the sizes Dovecot reports for it. Dovecot also counts the CRLF
//     after a nested multipart's close delimiter into the enclosing
//     part; by RFC 2046 §5.1.1 it belongs to the next delimiter, and
//     here it does (section_dovecot_test.go lists the cases).
//   - Content-Type (RFC 2045 §5): a missing or syntactically invalid one
//     is text/plain; charset=us-ascii (RFC 2045 §5.2; Dovecot instead
//     sends an invalid one as it is, e.g. "text" ""). A text/* part
//     without a charset parameter gets charset=us-ascii (RFC 2046
//     §4.1.2). Parts of multipart/digest default to message/rfc822 (RFC
//     2046 §5.1.5). Parameter continuations are joined (RFC 2231 §3:
//     "IMAP4 servers SHOULD decode parameter value continuations");
//     charset and language encoding is left to the client.
//   - Strings keep the case they have in the header ("TEXT" "HTML");
//     defaults are lower case ("text" "plain", "7bit"), as Dovecot sends
//     them. IMAP compares these case-insensitively.
//   - Extension data (BODYSTRUCTURE only): body-fld-md5 is Content-MD5
//     as sent, body-fld-dsp Content-Disposition (RFC 2183), body-fld-lang
//     Content-Language as a list of tags (RFC 3282, RFC 3066 tags; a
//     list even for one tag, as Dovecot sends), body-fld-loc
//     Content-Location (RFC 2557), each NIL when absent.
//   - A multipart without parts (no boundary parameter, or no delimiter
//     line) is sent with one empty text/plain part: the grammar needs
//     1*body.
//   - message/rfc822 in 7bit, 8bit or binary has the envelope, body and
//     lines of the message inside; in another encoding (not allowed by
//     RFC 2046 §5.2.1) its envelope is all NIL and its body an empty
//     text/plain, as Dovecot does, so the response stays well formed.
//     message/global (RFC 6532) is sent as a basic part, the form IMAP4rev1
//     clients can parse (RFC 9051 §9 would allow the message form).
//   - Bounds: a multipart or message part nested deeper than
//     maxBodyDepth, or met after maxBodyParts parts, is an opaque
//     application/octet-stream part (its parameters kept), its content
//     skipped to the next delimiter of an enclosing part; a multipart
//     that reaches maxBodyParts lists no further parts and skips the rest
//     of its content. A part's header is kept up to maxPartHeader bytes
//     (the fields after that are not seen), maxPartParams parameters
//     of a field, and the envelopes of all message/rfc822 parts keep
//     maxEnvelopeAddresses addresses together. So memory is bounded by the
//     bounds, not by the message: nothing else is kept per part.

const (
	maxBodyDepth  = 100
	maxBodyParts  = 10_000
	maxPartHeader = 256 << 10
	// maxPartParams bounds the parameters kept of one field, and the
	// tags of Content-Language.
	maxPartParams = 100
	// bodyReadBuffer is the line buffer: longer lines are read in pieces
	// and can never be a boundary delimiter (at most 70 characters, RFC
	// 2046 §5.1.1, plus padding).
	bodyReadBuffer = 16 << 10
)

// param is one MIME parameter, in header order.
type param struct {
	Name, Value string
}

// bodyPart is one part of a message's MIME structure.
type bodyPart struct {
	Type, Subtype string  // as sent; "text" "plain" by default
	Params        []param // body-fld-param
	ID            nstring // Content-ID
	Description   nstring // Content-Description
	Encoding      string  // Content-Transfer-Encoding; "7bit" by default
	Size          uint32  // body-fld-octets
	Lines         uint32  // body-fld-lines, for text/* and message/rfc822

	// Extension data.
	MD5         nstring // Content-MD5
	Disposition string  // "" when there is no Content-Disposition
	DispParams  []param
	Language    []string // Content-Language tags
	Location    nstring  // Content-Location

	Parts    []*bodyPart // multipart/*
	Envelope *envelope   // message/rfc822
	Message  *bodyPart   // message/rfc822: the body of the message inside

	// Where the part is in the message as parsed (section.go): its
	// header (the MIME header; the message header for the message and
	// for the body of a message/rfc822 part) is [HeaderOff, BodyOff),
	// its body [BodyOff, End). inner is set when Message is the parsed
	// message inside, not a stand-in.
	HeaderOff, BodyOff, End int64
	inner                   bool
}

func (b *bodyPart) isMultipart() bool { return equalFoldASCII(b.Type, "multipart") }

func (b *bodyPart) isText() bool { return equalFoldASCII(b.Type, "text") }

// isMessage reports whether b is sent in the body-type-msg form.
func (b *bodyPart) isMessage() bool {
	return equalFoldASCII(b.Type, "message") && equalFoldASCII(b.Subtype, "rfc822")
}

// parseBodyStructure reads the MIME structure of the message of size
// bytes in r. It fails only when r does; malformed MIME gives a
// structure as described above.
func parseBodyStructure(r io.ReaderAt, size int64) (*bodyPart, error) {
	return parseBodyStructureFrom(io.NewSectionReader(r, 0, size))
}

// parseBodyStructureFrom is parseBodyStructure over a stream; offsets
// are of the stream.
func parseBodyStructureFrom(r io.Reader) (*bodyPart, error) {
	p := &bsParser{
		br:        bufio.NewReaderSize(r, bodyReadBuffer),
		addresses: maxEnvelopeAddresses,
	}
	root, _ := p.part(0, nil, false)
	if p.err != nil {
		return nil, p.err
	}
	return root, nil
}

// bsParser reads a message line by line, keeping the offset and the
// number of LFs read so far.
type bsParser struct {
	br     *bufio.Reader
	err    error // a read error other than EOF
	eof    bool
	off    int64 // offset of the next byte
	lfs    int64 // LFs before off
	term   int64 // length of the last line end read (1 or 2), 0 if none
	mid    bool  // the last read ended inside a line
	parts  int
	header []byte // the header being read, reused
	// addresses is what is left of the budget of addresses for the
	// envelopes of all message/rfc822 parts together.
	addresses int
}

// boundaryEnd is what ended a part: a delimiter line of bounds[index]
// starting at off (close for "--b--"), or the end of the message
// (index -1).
type boundaryEnd struct {
	index int
	close bool
	off   int64 // where the delimiter line starts
	lfs   int64 // LFs before it
	term  int64 // the line end before it, which belongs to the delimiter
}

// line reads the next line or piece of a long line. It returns nil at
// the end or on error. start reports whether the piece starts a line.
func (p *bsParser) line() (b []byte, start bool) {
	if p.eof || p.err != nil {
		return nil, false
	}
	b, err := p.br.ReadSlice('\n')
	start = !p.mid
	switch err {
	case nil:
		p.mid = false
	case bufio.ErrBufferFull:
		p.mid = true
	case io.EOF:
		p.eof = true
		p.mid = false
	default:
		p.err = err
		return nil, false
	}
	if len(b) == 0 {
		return nil, false
	}
	p.off += int64(len(b))
	if b[len(b)-1] == '\n' {
		p.lfs++
		if len(b) >= 2 && b[len(b)-2] == '\r' {
			p.term = 2
		} else {
			p.term = 1
		}
	} else if !p.mid {
		p.term = 0 // the last line has no line end
	}
	return b, start
}

// delimiter reports whether line is a boundary delimiter of one of
// bounds (RFC 2046 §5.1.1): "--" boundary, then "--" for the close
// delimiter (anything may follow it, as Dovecot allows), else only
// transport padding. The innermost boundary is tried first.
func delimiter(line []byte, bounds []string) (index int, close bool) {
	if len(line) < 2 || line[0] != '-' || line[1] != '-' {
		return -1, false
	}
	rest := line[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		after := rest[len(b):]
		if bytes.HasPrefix(after, []byte("--")) {
			return i, true
		}
		if len(bytes.TrimRight(after, " \t\r\n")) == 0 {
			return i, false
		}
	}
	return -1, false
}

// scan reads lines up to a delimiter of bounds or the end.
func (p *bsParser) scan(bounds []string) boundaryEnd {
	for {
		off, lfs, term := p.off, p.lfs, p.term
		b, start := p.line()
		if b == nil {
			return boundaryEnd{index: -1, off: p.off, lfs: p.lfs, term: 0}
		}
		if start && len(bounds) > 0 {
			if i, c := delimiter(b, bounds); i >= 0 {
				return boundaryEnd{index: i, close: c, off: off, lfs: lfs, term: term}
			}
		}
	}
}

// readHeader reads a part's header into p.header, up to a blank line, a
// delimiter of bounds (which then also ends the part: returned) or the
// end.
func (p *bsParser) readHeader(bounds []string) (end boundaryEnd, ended bool) {
	p.header = p.header[:0]
	full := false
	for {
		off, lfs, term := p.off, p.lfs, p.term
		b, start := p.line()
		if b == nil {
			return boundaryEnd{index: -1, off: p.off, lfs: p.lfs}, true
		}
		if start {
			if isBlankLine(b) {
				return boundaryEnd{}, false
			}
			if i, c := delimiter(b, bounds); i >= 0 {
				return boundaryEnd{index: i, close: c, off: off, lfs: lfs, term: term}, true
			}
		}
		if !full && len(p.header)+len(b) <= maxPartHeader {
			p.header = append(p.header, b...)
		} else {
			full = true // the rest is not kept: no line is cut
		}
	}
}

// part parses one part (or the message, at depth 0), whose header
// starts at the current offset and which ends at a delimiter of bounds
// or the end. digest is set for the parts of a multipart/digest.
func (p *bsParser) part(depth int, bounds []string, digest bool) (*bodyPart, boundaryEnd) {
	p.parts++
	b := &bodyPart{HeaderOff: p.off}
	end, ended := p.readHeader(bounds)
	parsePartHeader(b, p.header, digest)
	if ended {
		return emptyBody(headerOnly(b, end)), end
	}
	return p.body(b, depth, bounds)
}

// messagePart parses the message inside a message/rfc822 part: its
// header gives *env and the header fields of its body part.
func (p *bsParser) messagePart(depth int, bounds []string, env **envelope) (*bodyPart, boundaryEnd) {
	p.parts++
	b := &bodyPart{HeaderOff: p.off}
	end, ended := p.readHeader(bounds)
	*env = parseEnvelopeBudget(p.header, &p.addresses)
	parsePartHeader(b, p.header, false)
	if ended {
		return emptyBody(headerOnly(b, end)), end
	}
	return p.body(b, depth, bounds)
}

// headerOnly sets the offsets of a part whose header ran into end (a
// delimiter, whose line end before it belongs to it, or the end of the
// message): its body is empty.
func headerOnly(b *bodyPart, end boundaryEnd) *bodyPart {
	stop := end.off
	if end.index >= 0 && stop-end.term >= b.HeaderOff {
		stop -= end.term
	}
	b.BodyOff, b.End = stop, stop
	return b
}

// emptyBody completes a part whose header ran into a delimiter or the
// end of the message.
func emptyBody(b *bodyPart) *bodyPart {
	if b.isMessage() {
		b.Envelope, b.Message = &envelope{}, defaultPart()
	}
	return b
}

// body parses the body of b, whose header has been read, up to a
// delimiter of bounds or the end.
func (p *bsParser) body(b *bodyPart, depth int, bounds []string) (*bodyPart, boundaryEnd) {
	start, lfs0 := p.off, p.lfs
	var end boundaryEnd
	nested := b.isMultipart() && boundaryOf(b) != "" || b.isMessage() && plainEncoding(b.Encoding)
	switch {
	case nested && (depth >= maxBodyDepth || p.parts >= maxBodyParts):
		// Past the bounds: opaque.
		b.Type, b.Subtype = "application", "octet-stream"
		end = p.scan(bounds)
	case b.isMultipart() && boundaryOf(b) != "":
		end = p.multipart(b, depth, append(slices.Clip(bounds), boundaryOf(b)))
	case b.isMessage() && plainEncoding(b.Encoding):
		// RFC 2046 §5.2.1: the body is a message.
		b.Message, end = p.messagePart(depth+1, bounds, &b.Envelope)
		b.inner = true
	default:
		end = p.scan(bounds)
		emptyBody(b) // message/rfc822 in base64, say
	}
	stop, lfs := end.off, end.lfs
	if end.index >= 0 && stop-end.term >= start {
		// The line end before a delimiter belongs to it (RFC 2046 §5.1.1).
		stop -= end.term
		if end.term > 0 {
			lfs--
		}
	}
	b.BodyOff, b.End = start, max(stop, start)
	b.Size = clampUint32(max(stop-start, 0))
	b.Lines = clampUint32(max(lfs-lfs0, 0))
	return b, end
}

// multipart parses the preamble, parts and epilogue of b, whose own
// boundary is the last of bounds.
func (p *bsParser) multipart(b *bodyPart, depth int, bounds []string) boundaryEnd {
	own := len(bounds) - 1
	digest := equalFoldASCII(b.Subtype, "digest")
	end := p.scan(bounds) // the preamble
	for end.index == own && !end.close {
		if p.parts >= maxBodyParts {
			// Past the bound the rest of this multipart is opaque:
			// skipped, not listed, so a message of many tiny parts
			// cannot make the structure much larger than the bound.
			return p.scan(bounds[:own])
		}
		var child *bodyPart
		child, end = p.part(depth+1, bounds, digest)
		b.Parts = append(b.Parts, child)
	}
	if end.index == own {
		end = p.scan(bounds[:own]) // the epilogue
	}
	return end
}

// defaultPart is the empty text/plain part that stands in where the
// grammar needs a body and the message has none.
func defaultPart() *bodyPart {
	return &bodyPart{Type: "text", Subtype: "plain", Params: []param{{"charset", "us-ascii"}}, Encoding: "7bit"}
}

func boundaryOf(b *bodyPart) string {
	for _, p := range b.Params {
		if equalFoldASCII(p.Name, "boundary") {
			return p.Value
		}
	}
	return ""
}

// plainEncoding reports whether a message/rfc822 part's encoding lets
// its content be parsed as a message (RFC 2046 §5.2.1).
func plainEncoding(enc string) bool {
	return equalFoldASCII(enc, "7bit") || equalFoldASCII(enc, "8bit") || equalFoldASCII(enc, "binary")
}

func clampUint32(n int64) uint32 {
	return uint32(min(n, 1<<32-1))
}

// writeBodyStructure writes b as a body (RFC 9051 §9 "body"): the BODY
// form, or the BODYSTRUCTURE form with extension data when extended is
// set.
func writeBodyStructure(w *imapwire.Writer, b *bodyPart, extended bool) {
	if b == nil {
		b = defaultPart()
	}
	w.BeginList()
	if b.isMultipart() {
		// body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
		if len(b.Parts) == 0 {
			writeBodyStructure(w, defaultPart(), extended)
		}
		for _, c := range b.Parts {
			writeBodyStructure(w, c, extended)
		}
		w.SP().String(b.Subtype)
		if extended {
			w.SP()
			writeParams(w, b.Params)
			writeExtension(w, b)
		}
		w.EndList()
		return
	}
	// body-type-1part: body-fields, then the envelope, body and lines of
	// a message or the lines of text.
	w.String(b.Type).SP().String(b.Subtype).SP()
	writeParams(w, b.Params)
	w.SP().NString(b.ID.Value, b.ID.Valid).
		SP().NString(b.Description.Value, b.Description.Valid).
		SP().String(b.Encoding).
		SP().Number(b.Size)
	switch {
	case b.isMessage():
		w.SP()
		writeEnvelope(w, b.Envelope)
		w.SP()
		writeBodyStructure(w, b.Message, extended)
		w.SP().Number(b.Lines)
	case b.isText():
		w.SP().Number(b.Lines)
	}
	if extended {
		// body-ext-1part = body-fld-md5 [SP body-fld-dsp ...]
		w.SP().NString(b.MD5.Value, b.MD5.Valid)
		writeExtension(w, b)
	}
	w.EndList()
}

// writeExtension writes SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
func writeExtension(w *imapwire.Writer, b *bodyPart) {
	w.SP()
	if b.Disposition == "" {
		w.NIL()
	} else {
		w.BeginList().String(b.Disposition).SP()
		writeParams(w, b.DispParams)
		w.EndList()
	}
	w.SP()
	if len(b.Language) == 0 {
		w.NIL()
	} else {
		w.BeginList()
		for i, t := range b.Language {
			if i > 0 {
				w.SP()
			}
			w.String(t)
		}
		w.EndList()
	}
	w.SP().NString(b.Location.Value, b.Location.Valid)
}

// writeParams writes body-fld-param: "(" string SP string *(SP string SP
// string) ")" or NIL.
func writeParams(w *imapwire.Writer, ps []param) {
	if len(ps) == 0 {
		w.NIL()
		return
	}
	w.BeginList()
	for i, p := range ps {
		if i > 0 {
			w.SP()
		}
		w.String(p.Name).SP().String(p.Value)
	}
	w.EndList()
}
