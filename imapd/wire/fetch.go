package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// FetchModifiers holds what a FETCH asked that imap.FetchOptions cannot
// say.
type FetchModifiers struct {
	// ChangedSince is the CHANGEDSINCE modifier (RFC 7162 §3.1.4.1); it is
	// also set in FetchOptions.ChangedSince, and FetchOptions.ModSeq is set
	// since the server must then return MODSEQ.
	ChangedSince uint64
	// Vanished is the VANISHED modifier (RFC 7162 §3.2.6); the reader
	// requires CHANGEDSINCE with it, the caller must require UID FETCH.
	Vanished bool
	// The legacy items RFC822, RFC822.HEADER and RFC822.TEXT (RFC 3501
	// §6.4.5), answered under their own names. They mean BODY[],
	// BODY.PEEK[HEADER] and BODY[TEXT] and are not added to
	// FetchOptions.BodySection.
	RFC822, RFC822Header, RFC822Text bool
	// Body is set when "BODY" (the non-extended BODYSTRUCTURE) was asked.
	// FetchOptions.BodyStructure.Extended is set when BODYSTRUCTURE was;
	// when both were asked the server answers both items.
	Body bool
}

func isFetchNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.'
}

// ReadFetchItems reads the FETCH data items after the sequence set and
// its SP, up to but not including the CRLF (RFC 9051 §6.4.5, §9 "fetch";
// RFC 3516 §4.2 BINARY; RFC 7162 §3.1.4 and RFC 4466 §2.4 modifiers): a
// macro (ALL, FAST, FULL), a single item, or a parenthesised list of
// items, then optional modifiers "(CHANGEDSINCE n [VANISHED])".
func (r *Reader) ReadFetchItems() (*imap.FetchOptions, *FetchModifiers, error) {
	opts := &imap.FetchOptions{}
	mods := &FetchModifiers{}
	c, err := r.peek()
	if err != nil {
		return nil, nil, err
	}
	if c == '(' {
		n := 0
		err = r.ReadList(func() error { n++; return r.readFetchAtt(opts, mods, false) })
		if err == nil && n == 0 {
			err = syntaxErr("empty fetch item list")
		}
	} else {
		err = r.readFetchAtt(opts, mods, true)
	}
	if err != nil {
		return nil, nil, err
	}
	sp, err := r.MaybeSP()
	if err != nil {
		return nil, nil, err
	}
	if sp {
		if err := r.readFetchModifiers(opts, mods); err != nil {
			return nil, nil, err
		}
	}
	return opts, mods, nil
}

func (r *Reader) readFetchAtt(opts *imap.FetchOptions, mods *FetchModifiers, macroOK bool) error {
	name, err := r.readWhile(isFetchNameChar, "fetch item")
	if err != nil {
		return err
	}
	name = strings.ToUpper(name)
	switch name {
	case "ALL", "FAST", "FULL":
		if !macroOK {
			return syntaxErr("fetch macro %s inside a list", name)
		}
		opts.Flags, opts.InternalDate, opts.RFC822Size = true, true, true
		if name != "FAST" {
			opts.Envelope = true
		}
		if name == "FULL" {
			mods.Body = true
			if opts.BodyStructure == nil {
				opts.BodyStructure = &imap.FetchItemBodyStructure{}
			}
		}
	case "ENVELOPE":
		opts.Envelope = true
	case "FLAGS":
		opts.Flags = true
	case "INTERNALDATE":
		opts.InternalDate = true
	case "RFC822.SIZE":
		opts.RFC822Size = true
	case "UID":
		opts.UID = true
	case "MODSEQ":
		opts.ModSeq = true
	case "RFC822":
		mods.RFC822 = true
	case "RFC822.HEADER":
		mods.RFC822Header = true
	case "RFC822.TEXT":
		mods.RFC822Text = true
	case "BODYSTRUCTURE":
		opts.BodyStructure = &imap.FetchItemBodyStructure{Extended: true}
	case "BODY", "BODY.PEEK":
		c, err := r.peek()
		if err != nil {
			return err
		}
		if c != '[' {
			if name == "BODY.PEEK" {
				return syntaxErr("BODY.PEEK without section")
			}
			mods.Body = true
			if opts.BodyStructure == nil {
				opts.BodyStructure = &imap.FetchItemBodyStructure{}
			}
			return nil
		}
		sec, err := r.readSection()
		if err != nil {
			return err
		}
		if sec.Partial, err = r.readPartial(); err != nil {
			return err
		}
		sec.Peek = name == "BODY.PEEK"
		opts.BodySection = append(opts.BodySection, sec)
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		part, err := r.readSectionBinary()
		if err != nil {
			return err
		}
		if name == "BINARY.SIZE" {
			opts.BinarySectionSize = append(opts.BinarySectionSize, &imap.FetchItemBinarySectionSize{Part: part})
			return nil
		}
		partial, err := r.readPartial()
		if err != nil {
			return err
		}
		opts.BinarySection = append(opts.BinarySection, &imap.FetchItemBinarySection{
			Part: part, Partial: partial, Peek: name == "BINARY.PEEK",
		})
	default:
		return syntaxErr("unknown fetch item %q", truncate(name))
	}
	return nil
}

// truncate keeps client text in error messages short.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// readPart reads section-part: nz-number *("." nz-number). It stops
// before a "." that is not followed by a digit.
func (r *Reader) readPart() ([]int, error) {
	var part []int
	for {
		n, err := r.ReadNzNumber()
		if err != nil {
			return nil, err
		}
		part = append(part, int(n))
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c != '.' {
			return part, nil
		}
		b, err := r.br.Peek(2)
		if err != nil {
			return nil, ioErr(err)
		}
		if b[1] < '0' || b[1] > '9' {
			return part, nil
		}
		if _, err := r.readByte(); err != nil {
			return nil, err
		}
	}
}

// readSection reads "[" [section-spec] "]" (RFC 9051 §9 "section").
func (r *Reader) readSection() (*imap.FetchItemBodySection, error) {
	if err := r.expect('[', "'['"); err != nil {
		return nil, err
	}
	sec := &imap.FetchItemBodySection{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		_, err := r.readByte()
		return sec, err
	}
	if c >= '0' && c <= '9' {
		if sec.Part, err = r.readPart(); err != nil {
			return nil, err
		}
		dot, err := r.MaybeByte('.')
		if err != nil {
			return nil, err
		}
		if !dot {
			return sec, r.expect(']', "']'")
		}
	}
	text, err := r.readWhile(func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' }, "section text")
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(text) {
	case "HEADER":
		sec.Specifier = imap.PartSpecifierHeader
	case "TEXT":
		sec.Specifier = imap.PartSpecifierText
	case "MIME":
		if len(sec.Part) == 0 {
			return nil, syntaxErr("MIME needs a part number")
		}
		sec.Specifier = imap.PartSpecifierMIME
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		sec.Specifier = imap.PartSpecifierHeader
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		var fields []string
		err := r.ReadList(func() error {
			f, err := r.ReadAString()
			fields = append(fields, f)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(fields) == 0 {
			return nil, syntaxErr("empty header list")
		}
		if len(text) == len("HEADER.FIELDS") {
			sec.HeaderFields = fields
		} else {
			sec.HeaderFieldsNot = fields
		}
	default:
		return nil, syntaxErr("bad section %q", truncate(text))
	}
	return sec, r.expect(']', "']'")
}

// readSectionBinary reads "[" [section-part] "]" (RFC 3516 §4.2).
func (r *Reader) readSectionBinary() ([]int, error) {
	if err := r.expect('[', "'['"); err != nil {
		return nil, err
	}
	end, err := r.MaybeByte(']')
	if err != nil || end {
		return nil, err
	}
	part, err := r.readPart()
	if err != nil {
		return nil, err
	}
	return part, r.expect(']', "']'")
}

// readPartial reads an optional "<" number64 "." nz-number64 ">".
func (r *Reader) readPartial() (*imap.SectionPartial, error) {
	lt, err := r.MaybeByte('<')
	if err != nil || !lt {
		return nil, err
	}
	off, err := r.ReadNumber64()
	if err != nil {
		return nil, err
	}
	if err := r.expect('.', "'.' in partial"); err != nil {
		return nil, err
	}
	size, err := r.ReadNumber64()
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return nil, syntaxErr("zero partial size")
	}
	if err := r.expect('>', "'>'"); err != nil {
		return nil, err
	}
	return &imap.SectionPartial{Offset: off, Size: size}, nil
}

// readFetchModifiers reads "(" fetch-modifier *(SP fetch-modifier) ")".
func (r *Reader) readFetchModifiers(opts *imap.FetchOptions, mods *FetchModifiers) error {
	seen := map[string]bool{}
	err := r.ReadList(func() error {
		name, err := r.ReadAtom()
		if err != nil {
			return err
		}
		name = strings.ToUpper(name)
		if seen[name] {
			return syntaxErr("fetch modifier %s twice", name)
		}
		seen[name] = true
		switch name {
		case "CHANGEDSINCE":
			if err := r.ReadSP(); err != nil {
				return err
			}
			n, err := r.ReadModSeq()
			if err != nil {
				return err
			}
			if n == 0 {
				return syntaxErr("CHANGEDSINCE 0")
			}
			mods.ChangedSince, opts.ChangedSince, opts.ModSeq = n, n, true
		case "VANISHED":
			mods.Vanished = true
		default:
			return syntaxErr("unknown fetch modifier %q", truncate(name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(seen) == 0 {
		return syntaxErr("empty fetch modifiers")
	}
	if mods.Vanished && mods.ChangedSince == 0 {
		return syntaxErr("VANISHED without CHANGEDSINCE")
	}
	return nil
}
