package imapd

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// Body items of FETCH: BODY[section]<partial>, BINARY[part]<partial>,
// BINARY.SIZE, RFC822*, BODY and BODYSTRUCTURE. Messages are read as IMAP
// sends them (CRLF line ends, storage.CanonicalReader), so every offset
// and size agrees with RFC822.SIZE, which the index records in that form.

// partial returns the offset and length of <offset.size> within size.
func partial(p *imap.SectionPartial, size int64) (int64, int64) {
	if p == nil {
		return 0, size
	}
	off := min(p.Offset, size)
	return off, min(p.Size, size-off)
}

// writeOrigin writes "<offset>" after a partial section's name: the
// response names the origin only (RFC 9051 §7.5.2 BODY[<section>]<<origin
// octet>>, RFC 3516 §4.2 BINARY).
func writeOrigin(w *wire.Writer, p *imap.SectionPartial) {
	if p != nil {
		w.Atom("<").Number64(uint64(p.Offset)).Atom(">")
	}
}

// writePart writes "[" section-part "]".
func writePart(w *wire.Writer, part []int) {
	w.Atom("[")
	for i, n := range part {
		if i > 0 {
			w.Atom(".")
		}
		w.Atom(strconv.Itoa(n))
	}
	w.Atom("]")
}

// writeSectionName writes BODY[section]<origin> as the response names it.
func writeSectionName(w *wire.Writer, bs *imap.FetchItemBodySection) {
	w.Atom("BODY[")
	for i, n := range bs.Part {
		if i > 0 {
			w.Atom(".")
		}
		w.Atom(strconv.Itoa(n))
	}
	spec := ""
	switch {
	case len(bs.HeaderFields) > 0:
		spec = "HEADER.FIELDS"
	case len(bs.HeaderFieldsNot) > 0:
		spec = "HEADER.FIELDS.NOT"
	case bs.Specifier != imap.PartSpecifierNone:
		spec = string(bs.Specifier)
	}
	if spec != "" {
		if len(bs.Part) > 0 {
			w.Atom(".")
		}
		w.Atom(spec)
	}
	if fields := slices.Concat(bs.HeaderFields, bs.HeaderFieldsNot); len(fields) > 0 {
		w.SP().BeginList()
		for i, f := range fields {
			if i > 0 {
				w.SP()
			}
			w.AString(strings.ToUpper(f))
		}
		w.EndList()
	}
	w.Atom("]")
	writeOrigin(w, bs.Partial)
}

// writeBodySection writes one BODY[section]<partial> item.
func (fm *fetchMessage) writeBodySection(bs *imap.FetchItemBodySection) {
	w := fm.s.w
	writeSectionName(w, bs)
	w.SP()
	fields := len(bs.HeaderFields) > 0 || len(bs.HeaderFieldsNot) > 0
	if len(bs.Part) == 0 && !fields {
		switch bs.Specifier {
		case imap.PartSpecifierNone:
			fm.writeWhole(w, bs.Partial)
			return
		case imap.PartSpecifierText:
			fm.writeText(w, bs.Partial)
			return
		case imap.PartSpecifierHeader:
			hdr, err := fm.header()
			if err != nil {
				w.Literal(nil)
				return
			}
			off, n := partial(bs.Partial, int64(len(hdr)))
			w.Literal(hdr[off : off+n])
			return
		}
	}
	if len(bs.Part) == 0 {
		// HEADER.FIELDS of the top level: the header is enough.
		hdr, err := fm.header()
		if err != nil {
			w.Literal(nil)
			return
		}
		buf := headerFields(hdr, slices.Concat(bs.HeaderFields, bs.HeaderFieldsNot), len(bs.HeaderFieldsNot) > 0)
		off, n := partial(bs.Partial, int64(len(buf)))
		w.Literal(buf[off : off+n])
		return
	}
	root, err := fm.bodyStructure()
	if err != nil {
		w.Literal(nil)
		return
	}
	sec, ok := sectionRange(root, fm.m.Size, bs)
	if !ok {
		w.NIL() // no such part
		return
	}
	if fields {
		r, done := fm.section(sec)
		hdr, err := readSection(r, maxHeader)
		done()
		if err != nil {
			w.Literal(nil)
			return
		}
		buf := headerFields(hdr, slices.Concat(bs.HeaderFields, bs.HeaderFieldsNot), len(bs.HeaderFieldsNot) > 0)
		off, n := partial(bs.Partial, int64(len(buf)))
		w.Literal(buf[off : off+n])
		return
	}
	fm.stream(w, sec.off, sec.size, bs.Partial)
}

// reader returns the message from its start as IMAP sends it, and the
// function that gives the reader back.
func (fm *fetchMessage) reader() (*bufio.Reader, func()) {
	fm.f.Seek(0, io.SeekStart)
	r := wireReader(fm.f)
	return r, func() { unwire(r) }
}

// writeWhole streams the whole message <partial> as a literal. Its size
// is the index's (the wire size of the one stored form).
func (fm *fetchMessage) writeWhole(w *wire.Writer, p *imap.SectionPartial) {
	fm.stream(w, 0, fm.m.Size, p)
}

// writeText streams the body after the header <partial> as a literal.
func (fm *fetchMessage) writeText(w *wire.Writer, p *imap.SectionPartial) {
	hdr, err := fm.header()
	if err != nil {
		w.Literal(nil)
		return
	}
	start := min(int64(len(hdr)), fm.m.Size)
	fm.stream(w, start, fm.m.Size-start, p)
}

// stream writes size bytes from offset start of the message, cut to p.
func (fm *fetchMessage) stream(w *wire.Writer, start, size int64, p *imap.SectionPartial) {
	off, n := partial(p, size)
	r, done := fm.section(section{start + off, n})
	defer done()
	w.LiteralFrom(r, n, false)
}

// section returns a reader of sec, a range of the message as IMAP sends
// it, and the function that gives the reader back. A file in that form
// (every file Yubin wrote) is read at the range; another (LF line ends)
// is read through the canonical reader from its start. A message
// shorter than the range reads short (LiteralFrom then fails the
// connection rather than send a wrong literal).
func (fm *fetchMessage) section(sec section) (io.Reader, func()) {
	if fm.canonical() {
		return io.NewSectionReader(fm.f, sec.off, sec.size), func() {}
	}
	r, done := fm.reader()
	if _, err := io.CopyN(io.Discard, r, sec.off); err != nil {
		done()
		return bytes.NewReader(nil), func() {}
	}
	return io.LimitReader(r, sec.size), done
}

// canonical reports whether the file is stored as IMAP sends it: the
// canonical form only ever adds bytes, so equal sizes mean equal forms.
func (fm *fetchMessage) canonical() bool {
	if fm.canon == 0 {
		fm.canon = -1
		if st, err := fm.f.Stat(); err == nil && st.Size() == fm.m.Size {
			fm.canon = 1
		}
	}
	return fm.canon > 0
}

// bodyStructure parses the message's MIME structure (bodystructure.go)
// once per FETCH of the message, as IMAP sends the message: offsets and
// sizes agree with BODY[] and RFC822.SIZE.
func (fm *fetchMessage) bodyStructure() (*bodyPart, error) {
	if fm.bs != nil {
		return fm.bs, nil
	}
	var err error
	if fm.canonical() {
		fm.bs, err = parseBodyStructure(fm.f, fm.m.Size)
	} else {
		r, done := fm.reader()
		fm.bs, err = parseBodyStructureFrom(r)
		done()
	}
	return fm.bs, err
}

// fetchBinary is a decoded BINARY part, or nil data for a missing part.
type fetchBinary struct {
	data    []byte
	missing bool
}

// binaries decodes the parts BINARY and BINARY.SIZE ask for, before the
// response starts, so an unknown encoding can fail the message cleanly.
// The results follow o.BinarySection, then o.BinarySectionSize.
func (fm *fetchMessage) binaries(o *imap.FetchOptions) ([]fetchBinary, error) {
	if len(o.BinarySection) == 0 && len(o.BinarySectionSize) == 0 {
		return nil, nil
	}
	var out []fetchBinary
	parts := make([][]int, 0, len(o.BinarySection)+len(o.BinarySectionSize))
	for _, bs := range o.BinarySection {
		parts = append(parts, bs.Part)
	}
	for _, bss := range o.BinarySectionSize {
		parts = append(parts, bss.Part)
	}
	for _, part := range parts {
		if len(part) == 0 {
			out = append(out, fetchBinary{}) // the whole message, streamed
			continue
		}
		b, err := fm.decodePart(part)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// decodePart returns a part's content with its transfer encoding undone
// (RFC 3516 §4.2): base64 and quoted-printable are decoded, 7bit, 8bit
// and binary are as they are; any other is UNKNOWN-CTE.
func (fm *fetchMessage) decodePart(part []int) (fetchBinary, error) {
	root, err := fm.bodyStructure()
	if err != nil {
		return fetchBinary{}, err
	}
	p := findPart(root, part)
	if p == nil {
		return fetchBinary{missing: true}, nil
	}
	r, done := fm.section(span(p.BodyOff, p.End))
	defer done()
	enc := strings.ToLower(strings.TrimSpace(p.Encoding))
	var dec io.Reader
	switch enc {
	case "", "7bit", "8bit", "binary":
		dec = r
	case "base64":
		dec = base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r})
	case "quoted-printable":
		dec = quotedprintable.NewReader(r)
	default:
		return fetchBinary{}, fmt.Errorf("%w %q", errUnknownCTE, enc)
	}
	out, err := io.ReadAll(dec)
	if err != nil {
		// Damaged data: what decoded is what the client gets, as Dovecot
		// does.
		fm.s.log.Info("fetch: binary part damaged", "mailbox", fm.s.sel.name, "uid", fm.m.UID, "err", err)
	}
	return fetchBinary{data: out}, nil
}

// base64Filter passes only the base64 alphabet and padding, so line ends
// and stray characters do not stop decoding (RFC 2045 §6.8: decoders
// ignore characters outside the alphabet).
type base64Filter struct {
	r   io.Reader
	end bool
}

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		if f.end {
			return 0, io.EOF
		}
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if err != nil {
			f.end = true
			if j > 0 {
				return j, nil
			}
			return 0, err
		}
		if j > 0 {
			return j, nil
		}
	}
}

// writeBinary writes one BINARY[part]<partial> item: a literal8 when the
// data holds NUL (RFC 3516 §4.2).
func (fm *fetchMessage) writeBinary(bs *imap.FetchItemBinarySection, b fetchBinary) {
	w := fm.s.w
	w.Atom("BINARY")
	writePart(w, bs.Part)
	writeOrigin(w, bs.Partial)
	w.SP()
	if len(bs.Part) == 0 {
		// BINARY[] is the whole message (RFC 3516 decodes parts, not the
		// message): the bytes and size of BODY[].
		fm.writeWhole(w, bs.Partial)
		return
	}
	if b.missing {
		w.NIL()
		return
	}
	off, n := partial(bs.Partial, int64(len(b.data)))
	w.Binary(b.data[off : off+n])
}

// binarySize is BINARY.SIZE of part: the decoded size, or RFC822.SIZE
// for the whole message.
func (fm *fetchMessage) binarySize(part []int, binaries []fetchBinary, o *imap.FetchOptions) int64 {
	if len(part) == 0 {
		return fm.m.Size
	}
	for i, bss := range o.BinarySectionSize {
		if slices.Equal(bss.Part, part) {
			return int64(len(binaries[len(o.BinarySection)+i].data))
		}
	}
	return 0
}

// writeVanished sends "* VANISHED (EARLIER)" with the UIDs of set
// expunged after since (RFC 7162 §3.2.6). When the change log no longer
// reaches back that far, every UID of the set below UIDNEXT that the
// index does not hold is listed, which VANISHED (EARLIER) allows (a
// client ignores UIDs it never had, RFC 7162 §3.2.10.1).
func (s *session) writeVanished(set imap.UIDSet, since uint64) error {
	ctx := s.ctx()
	var gone imap.UIDSet
	changes, err := s.acct.Changes(ctx, s.sel.name, since)
	switch {
	case errors.Is(err, storage.ErrChangesExpired):
		_, next, err := s.acct.UIDs(ctx, s.sel.name)
		if err != nil {
			return mailboxError(err)
		}
		if next <= 1 {
			return nil
		}
		msgs, err := s.acct.MessageRange(ctx, s.sel.name, 1, next-1)
		if err != nil {
			return mailboxError(err)
		}
		have := make(map[uint32]bool, len(msgs))
		for _, m := range msgs {
			have[m.UID] = true
		}
		for _, r := range set {
			start, stop := uint32(r.Start), uint32(r.Stop)
			if stop == 0 || stop > next-1 {
				stop = next - 1
			}
			for u := start; u <= stop && u != 0; u++ {
				if !have[u] {
					gone.AddNum(imap.UID(u))
				}
			}
		}
	case err != nil:
		return mailboxError(err)
	default:
		for _, c := range changes {
			if c.Kind == storage.MessageExpunged && set.Contains(imap.UID(c.UID)) {
				gone.AddNum(imap.UID(c.UID))
			}
		}
	}
	if len(gone) > 0 {
		s.w.Untagged().Atom("VANISHED (EARLIER) ").NumSet(gone).CRLF()
	}
	return nil
}
