package wire

import (
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
)

// dateTimeLayout is RFC 9051 §9 date-time: date-day-fixed is SP DIGIT
// or 2DIGIT.
const dateTimeLayout = "_2-Jan-2006 15:04:05 -0700"

// InternalDate writes a date-time, e.g. "17-Jul-1996 02:44:25 -0700"
// (RFC 9051 §7.5.2 INTERNALDATE), in t's own zone.
func (w *Writer) InternalDate(t time.Time) *Writer {
	return w.raw(`"`).raw(t.Format(dateTimeLayout)).raw(`"`)
}

// parts writes section-part: nz-number *("." nz-number).
func (w *Writer) parts(part []int) *Writer {
	for i, p := range part {
		if i > 0 {
			w.raw(".")
		}
		w.raw(strconv.Itoa(p))
	}
	return w
}

// origin writes "<offset>" for a partial fetch (RFC 9051 §7.5.2: the
// response names the origin octet only).
func (w *Writer) origin(p *imap.SectionPartial) *Writer {
	if p == nil {
		return w
	}
	return w.raw("<").raw(strconv.FormatInt(p.Offset, 10)).raw(">")
}

// BodySectionName writes the name of a BODY[section] item of a FETCH
// response as the client asked it, without .PEEK and with the origin of
// a partial fetch (RFC 9051 §7.5.2), e.g.
// BODY[1.2.HEADER.FIELDS (Date From)]<0>. The caller writes SP and the
// data (Literal, LiteralFrom or NIL) after it.
func (w *Writer) BodySectionName(sec *imap.FetchItemBodySection) *Writer {
	w.raw("BODY[").parts(sec.Part)
	if sec.Specifier != imap.PartSpecifierNone {
		if len(sec.Part) > 0 {
			w.raw(".")
		}
		w.raw(string(sec.Specifier))
		fields, suffix := sec.HeaderFields, ".FIELDS"
		if len(sec.HeaderFieldsNot) > 0 {
			fields, suffix = sec.HeaderFieldsNot, ".FIELDS.NOT"
		}
		if sec.Specifier == imap.PartSpecifierHeader && len(fields) > 0 {
			w.raw(suffix).SP().BeginList()
			for i, f := range fields {
				if i > 0 {
					w.SP()
				}
				w.AString(f)
			}
			w.EndList()
		}
	}
	return w.raw("]").origin(sec.Partial)
}

// BinarySectionName writes the name of a BINARY[part] item of a FETCH
// response, with the origin of a partial fetch (RFC 3516 §4.2, RFC 9051
// §7.5.2), e.g. BINARY[1]<0>. The caller writes SP and the data (Binary
// or LiteralFrom) after it.
func (w *Writer) BinarySectionName(sec *imap.FetchItemBinarySection) *Writer {
	return w.raw("BINARY[").parts(sec.Part).raw("]").origin(sec.Partial)
}

// BinarySizeName writes the name of a BINARY.SIZE[part] item (RFC 3516
// §4.2); the caller writes SP and the size after it.
func (w *Writer) BinarySizeName(sec *imap.FetchItemBinarySectionSize) *Writer {
	return w.raw("BINARY.SIZE[").parts(sec.Part).raw("]")
}
