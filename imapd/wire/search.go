package wire

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Search is a parsed SEARCH command.
type Search struct {
	Criteria *imap.SearchCriteria
	// Return holds the RETURN options (RFC 4731 §3.1, RFC 9051 §6.4.4.1);
	// an empty "RETURN ()" means ALL.
	Return imap.SearchOptions
	// ESearch is set when RETURN was given: the answer is an ESEARCH
	// response, not "* SEARCH".
	ESearch bool
	// Charset is the CHARSET argument, upper-cased, or "" when absent. The
	// server decides which charsets it accepts (BADCHARSET).
	Charset string
}

// ReadSearch reads the arguments of SEARCH (or UID SEARCH) from the SP
// after the command name up to, not including, the CRLF (RFC 9051
// §6.4.4, §9 "search"; RFC 4731 RETURN; RFC 5182 "$"; RFC 7162 §3.1.5
// MODSEQ). Search keys are ANDed into one imap.SearchCriteria.
//
// Mapping notes: ON and SENTON become a Since/Before pair one day apart;
// NEW is \Recent and not \Seen; OLD is not \Recent; KEYWORD is a Flag; a
// "$" sequence set is imap.SearchRes() in Criteria.UID; SMALLER 0 (which
// nothing matches) is NOT ALL; LARGER 0 is dropped.
func (r *Reader) ReadSearch() (*Search, error) {
	s := &Search{Criteria: &imap.SearchCriteria{}}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	// The first word may be RETURN, CHARSET or a search key; it is read
	// whole, never peeked at, since a peek could wait on bytes the client
	// has not sent.
	var word string
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if isLetter(c) {
		if word, err = r.ReadAtom(); err != nil {
			return nil, err
		}
		word = strings.ToUpper(word)
	}
	if word == "RETURN" {
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		if err := r.readSearchReturn(s); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		word = ""
		if c, err = r.peek(); err != nil {
			return nil, err
		}
		if isLetter(c) {
			if word, err = r.ReadAtom(); err != nil {
				return nil, err
			}
			word = strings.ToUpper(word)
		}
	}
	if word == "CHARSET" {
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		cs, err := r.ReadAString()
		if err != nil {
			return nil, err
		}
		s.Charset = strings.ToUpper(cs)
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		word = ""
	}
	if word != "" {
		k, err := r.searchKeyNamed(word)
		if err != nil {
			return nil, err
		}
		and(s.Criteria, k)
		if sp, err := r.MaybeSP(); err != nil || !sp {
			return s, err
		}
	}
	if err := r.readSearchKeys(s.Criteria); err != nil {
		return nil, err
	}
	return s, nil
}

// readSearchKeys reads search-key *(SP search-key), ANDed into c. It
// stops before anything that is not SP (the CRLF).
func (r *Reader) readSearchKeys(c *imap.SearchCriteria) error {
	for {
		k, err := r.readSearchKey()
		if err != nil {
			return err
		}
		and(c, k)
		b, err := r.peek()
		if err != nil {
			return err
		}
		if b != ' ' {
			return nil
		}
		if _, err := r.readByte(); err != nil {
			return err
		}
	}
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func (r *Reader) readSearchReturn(s *Search) error {
	s.ESearch = true
	return r.readReturnOptions(&s.Return, true, "search") // RFC 4731 §3.1
}

// readReturnOptions reads a RETURN option list of SEARCH (RFC 4731 §3.1)
// or of SORT (RFC 5267 §3.1, which has no SAVE). An empty list means ALL.
func (r *Reader) readReturnOptions(ret *imap.SearchOptions, saveOK bool, what string) error {
	n := 0
	err := r.ReadList(func() error {
		n++
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "MIN":
			ret.ReturnMin = true
		case "MAX":
			ret.ReturnMax = true
		case "ALL":
			ret.ReturnAll = true
		case "COUNT":
			ret.ReturnCount = true
		case "SAVE":
			if !saveOK {
				return syntaxErr("unknown %s return option %q", what, truncate(a))
			}
			ret.ReturnSave = true
		default:
			return syntaxErr("unknown %s return option %q", what, truncate(a))
		}
		return nil
	})
	if err == nil && n == 0 {
		ret.ReturnAll = true
	}
	return err
}

var (
	flagKeys = map[string]imap.Flag{
		"ANSWERED": imap.FlagAnswered, "DELETED": imap.FlagDeleted, "DRAFT": imap.FlagDraft,
		"FLAGGED": imap.FlagFlagged, "SEEN": imap.FlagSeen, "RECENT": "\\Recent",
	}
	headerKeys = map[string]string{"BCC": "Bcc", "CC": "Cc", "FROM": "From", "SUBJECT": "Subject", "TO": "To"}
)

// readSearchKey reads one search-key (RFC 9051 §9).
func (r *Reader) readSearchKey() (*imap.SearchCriteria, error) {
	k := &imap.SearchCriteria{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '(':
		n := 0
		err := r.ReadList(func() error {
			n++
			sub, err := r.readSearchKey()
			if err == nil {
				and(k, sub)
			}
			return err
		})
		if err == nil && n == 0 {
			err = syntaxErr("empty search key list")
		}
		return k, err
	case c >= '0' && c <= '9' || c == '*' || c == '$':
		set, err := r.ReadNumSet(false)
		if err != nil {
			return nil, err
		}
		switch set := set.(type) {
		case imap.SeqSet:
			k.SeqNum = append(k.SeqNum, set)
		case imap.UIDSet: // "$"
			k.UID = append(k.UID, set)
		}
		return k, nil
	}
	name, err := r.ReadAtom()
	if err != nil {
		return nil, err
	}
	return r.searchKeyNamed(strings.ToUpper(name))
}

// searchKeyNamed reads the rest of a search key whose upper-cased name has
// been read.
func (r *Reader) searchKeyNamed(name string) (*imap.SearchCriteria, error) {
	k := &imap.SearchCriteria{}
	if f, ok := flagKeys[name]; ok {
		k.Flag = append(k.Flag, f)
		return k, nil
	}
	if f, ok := flagKeys[strings.TrimPrefix(name, "UN")]; ok && strings.HasPrefix(name, "UN") && name != "UNRECENT" {
		k.NotFlag = append(k.NotFlag, f)
		return k, nil
	}
	switch name {
	case "ALL":
		return k, nil
	case "NEW":
		k.Flag = append(k.Flag, "\\Recent")
		k.NotFlag = append(k.NotFlag, imap.FlagSeen)
		return k, nil
	case "OLD":
		k.NotFlag = append(k.NotFlag, "\\Recent")
		return k, nil
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	if h, ok := headerKeys[name]; ok {
		v, err := r.ReadAString()
		if err != nil {
			return nil, err
		}
		k.Header = append(k.Header, imap.SearchCriteriaHeaderField{Key: h, Value: v})
		return k, nil
	}
	switch name {
	case "HEADER":
		f, err := r.ReadAString()
		if err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		v, err := r.ReadAString()
		if err != nil {
			return nil, err
		}
		k.Header = append(k.Header, imap.SearchCriteriaHeaderField{Key: f, Value: v})
	case "BODY", "TEXT":
		v, err := r.ReadAString()
		if err != nil {
			return nil, err
		}
		if name == "BODY" {
			k.Body = append(k.Body, v)
		} else {
			k.Text = append(k.Text, v)
		}
	case "KEYWORD", "UNKEYWORD":
		f, err := r.ReadFlag()
		if err != nil {
			return nil, err
		}
		if !IsKeyword(f) {
			return nil, syntaxErr("%s needs a keyword, not %s", name, f)
		}
		if name == "KEYWORD" {
			k.Flag = append(k.Flag, f)
		} else {
			k.NotFlag = append(k.NotFlag, f)
		}
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		d, err := r.ReadDate()
		if err != nil {
			return nil, err
		}
		switch name {
		case "BEFORE":
			k.Before = d
		case "SINCE":
			k.Since = d
		case "ON":
			k.Since, k.Before = d, d.AddDate(0, 0, 1)
		case "SENTBEFORE":
			k.SentBefore = d
		case "SENTSINCE":
			k.SentSince = d
		case "SENTON":
			k.SentSince, k.SentBefore = d, d.AddDate(0, 0, 1)
		}
	case "LARGER", "SMALLER":
		n, err := r.ReadNumber64()
		if err != nil {
			return nil, err
		}
		switch {
		case name == "LARGER":
			k.Larger = n
		case n == 0:
			k.Not = append(k.Not, imap.SearchCriteria{}) // nothing is smaller than 0
		default:
			k.Smaller = n
		}
	case "UID":
		set, err := r.ReadNumSet(true)
		if err != nil {
			return nil, err
		}
		k.UID = append(k.UID, set.(imap.UIDSet))
	case "NOT":
		if err := r.enter(); err != nil {
			return nil, err
		}
		defer r.leave()
		sub, err := r.readSearchKey()
		if err != nil {
			return nil, err
		}
		k.Not = append(k.Not, *sub)
	case "OR":
		if err := r.enter(); err != nil {
			return nil, err
		}
		defer r.leave()
		a, err := r.readSearchKey()
		if err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		b, err := r.readSearchKey()
		if err != nil {
			return nil, err
		}
		k.Or = append(k.Or, [2]imap.SearchCriteria{*a, *b})
	case "MODSEQ":
		ms, err := r.readSearchModSeq()
		if err != nil {
			return nil, err
		}
		k.ModSeq = ms
	default:
		return nil, syntaxErr("unknown search key %q", truncate(name))
	}
	return k, nil
}

// readSearchModSeq reads the rest of RFC 7162 §3.1.5 "search-modsequence":
// [search-modseq-ext SP] mod-sequence-valzer, with search-modseq-ext =
// entry-name SP entry-type-req and entry-name a quoted "/flags/" name.
func (r *Reader) readSearchModSeq() (*imap.SearchCriteriaModSeq, error) {
	ms := &imap.SearchCriteriaModSeq{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '"' {
		name, err := r.readQuoted()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(strings.ToLower(name), "/flags/") || len(name) == len("/flags/") {
			return nil, syntaxErr("bad MODSEQ entry name")
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		typ, err := r.ReadAtom()
		if err != nil {
			return nil, err
		}
		switch t := imap.SearchCriteriaMetadataType(strings.ToLower(typ)); t {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate, imap.SearchCriteriaMetadataShared:
			ms.MetadataType = t
		default:
			return nil, syntaxErr("bad MODSEQ entry type")
		}
		ms.MetadataName = name
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
	}
	if ms.ModSeq, err = r.ReadModSeq(); err != nil {
		return nil, err
	}
	return ms, nil
}

// and adds the conditions of o to c: both must hold. (go-imap's
// SearchCriteria.And drops a SMALLER bound when o has none, so this is
// our own.)
func and(c, o *imap.SearchCriteria) {
	c.SeqNum = append(c.SeqNum, o.SeqNum...)
	c.UID = append(c.UID, o.UID...)
	c.Since = later(c.Since, o.Since)
	c.SentSince = later(c.SentSince, o.SentSince)
	c.Before = earlier(c.Before, o.Before)
	c.SentBefore = earlier(c.SentBefore, o.SentBefore)
	c.Header = append(c.Header, o.Header...)
	c.Body = append(c.Body, o.Body...)
	c.Text = append(c.Text, o.Text...)
	c.Flag = append(c.Flag, o.Flag...)
	c.NotFlag = append(c.NotFlag, o.NotFlag...)
	c.Larger = max(c.Larger, o.Larger)
	if o.Smaller != 0 && (c.Smaller == 0 || o.Smaller < c.Smaller) {
		c.Smaller = o.Smaller
	}
	c.Not = append(c.Not, o.Not...)
	c.Or = append(c.Or, o.Or...)
	if o.ModSeq != nil {
		if c.ModSeq == nil {
			c.ModSeq = o.ModSeq
		} else if o.ModSeq.ModSeq > c.ModSeq.ModSeq {
			// Both must hold; with different entry names only the larger
			// value is kept (Yubin keeps one modseq per message).
			c.ModSeq = o.ModSeq
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
