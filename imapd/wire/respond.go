package wire

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// envelopeDate is the RFC 5322 §3.3 form used for the envelope date.
const envelopeDate = "Mon, 02 Jan 2006 15:04:05 -0700"

// Envelope writes an ENVELOPE structure (RFC 9051 §7.5.2, §9 "envelope").
// Message IDs in env are without angle brackets, as go-imap keeps them.
func (w *Writer) Envelope(env *imap.Envelope) *Writer {
	if env == nil {
		env = &imap.Envelope{}
	}
	w.BeginList()
	if env.Date.IsZero() {
		w.NIL()
	} else {
		w.String(env.Date.Format(envelopeDate))
	}
	w.SP().NString(env.Subject, env.Subject != "")
	for _, list := range [][]imap.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		w.SP().addressList(list)
	}
	w.SP()
	if len(env.InReplyTo) > 0 {
		w.String("<" + strings.Join(env.InReplyTo, "> <") + ">")
	} else {
		w.NIL()
	}
	w.SP().NString("<"+env.MessageID+">", env.MessageID != "")
	return w.EndList()
}

// addressList writes "(" 1*address ")" or NIL. Group syntax (RFC 9051
// §7.5.2): a start has a NIL host and the group name as mailbox; an end
// has NIL mailbox and host.
func (w *Writer) addressList(list []imap.Address) *Writer {
	if len(list) == 0 {
		return w.NIL()
	}
	w.BeginList()
	for _, a := range list {
		w.BeginList().
			NString(a.Name, a.Name != "").SP().
			NIL().SP(). // addr-adl: source routes are obsolete
			NString(a.Mailbox, a.Mailbox != "").SP().
			NString(a.Host, a.Host != "").
			EndList()
	}
	return w.EndList()
}

// params writes body-fld-param: "(" key SP value ... ")" sorted by key,
// or NIL when empty.
func (w *Writer) params(p map[string]string) *Writer {
	if len(p) == 0 {
		return w.NIL()
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.BeginList()
	for i, k := range keys {
		if i > 0 {
			w.SP()
		}
		w.String(k).SP().String(p[k])
	}
	return w.EndList()
}

func (w *Writer) disposition(d *imap.BodyStructureDisposition) *Writer {
	if d == nil {
		return w.NIL()
	}
	return w.BeginList().String(d.Value).SP().params(d.Params).EndList()
}

// language writes body-fld-lang: NIL, one string, or a list.
func (w *Writer) language(l []string) *Writer {
	switch len(l) {
	case 0:
		return w.NIL()
	case 1:
		return w.String(l[0])
	}
	w.BeginList()
	for i, s := range l {
		if i > 0 {
			w.SP()
		}
		w.String(s)
	}
	return w.EndList()
}

// BodyStructure writes a body structure (RFC 9051 §7.5.2, §9 "body"):
// the BODY form, or the BODYSTRUCTURE form with extension data when
// extended is set.
func (w *Writer) BodyStructure(bs imap.BodyStructure, extended bool) *Writer {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		w.BeginList()
		for _, c := range bs.Children {
			w.BodyStructure(c, extended)
		}
		w.SP().String(bs.Subtype)
		if extended {
			ext := bs.Extended
			if ext == nil {
				ext = &imap.BodyStructureMultiPartExt{}
			}
			w.SP().params(ext.Params).SP().disposition(ext.Disposition).
				SP().language(ext.Language).SP().NString(ext.Location, ext.Location != "")
		}
		return w.EndList()
	case *imap.BodyStructureSinglePart:
		enc := bs.Encoding
		if enc == "" {
			enc = "7BIT"
		}
		w.BeginList().String(bs.Type).SP().String(bs.Subtype).SP().params(bs.Params).
			SP().NString(bs.ID, bs.ID != "").SP().NString(bs.Description, bs.Description != "").
			SP().String(enc).SP().Number(bs.Size)
		if m := bs.MessageRFC822; m != nil {
			w.SP().Envelope(m.Envelope).SP()
			if m.BodyStructure != nil {
				w.BodyStructure(m.BodyStructure, extended)
			} else {
				// A body is required: an empty text/plain stands in.
				w.BodyStructure(&imap.BodyStructureSinglePart{Type: "text", Subtype: "plain"}, extended)
			}
			w.SP().Number64(uint64(max(m.NumLines, 0)))
		} else if t := bs.Text; t != nil {
			w.SP().Number64(uint64(max(t.NumLines, 0)))
		}
		if extended {
			ext := bs.Extended
			if ext == nil {
				ext = &imap.BodyStructureSinglePartExt{}
			}
			w.SP().NIL(). // body-fld-md5: not computed
					SP().disposition(ext.Disposition).SP().language(ext.Language).
					SP().NString(ext.Location, ext.Location != "")
		}
		return w.EndList()
	}
	// No structure known: an empty text/plain part.
	return w.BodyStructure(&imap.BodyStructureSinglePart{Type: "text", Subtype: "plain", Text: &imap.BodyStructureText{}}, extended)
}

// ESearch writes an ESEARCH response (RFC 4731 §3.1, RFC 9051 §7.3.4)
// for the command tagged tag, answering the return options asked: MIN,
// MAX and ALL only when something matched, COUNT always; MODSEQ when
// data.ModSeq is set (RFC 7162 §3.1.5).
func (w *Writer) ESearch(tag string, uid bool, opts imap.SearchOptions, data *imap.SearchData) *Writer {
	w.Untagged().Atom("ESEARCH").SP().BeginList().Atom("TAG").SP().String(tag).EndList()
	if uid {
		w.SP().Atom("UID")
	}
	found := data.Count > 0 || data.Min != 0 || data.Max != 0
	if opts.ReturnMin && found {
		w.SP().Atom("MIN").SP().Number(data.Min)
	}
	if opts.ReturnMax && found {
		w.SP().Atom("MAX").SP().Number(data.Max)
	}
	if opts.ReturnAll && data.All != nil && data.All.String() != "" {
		w.SP().Atom("ALL").SP().NumSet(data.All)
	}
	if opts.ReturnCount {
		w.SP().Atom("COUNT").SP().Number(data.Count)
	}
	if data.ModSeq != 0 {
		w.SP().Atom("MODSEQ").SP().Number64(data.ModSeq)
	}
	return w.CRLF()
}
