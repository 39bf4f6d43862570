package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// SelectParams holds the parameters of SELECT or EXAMINE (RFC 4466 §2.1
// select-params; RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC).
type SelectParams struct {
	// CondStore is the CONDSTORE parameter; it enables CONDSTORE for the
	// session (RFC 7162 §3.1.8).
	CondStore bool
	// QResync is the QRESYNC parameter, nil when absent. The server must
	// refuse it with BAD unless QRESYNC was enabled (RFC 7162 §3.2.5).
	QResync *QResyncParams
}

// QResyncParams is the QRESYNC select parameter (RFC 7162 §3.2.5):
//
//	"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//	    [SP seq-match-data] ")"
type QResyncParams struct {
	UIDValidity uint32
	// ModSeq is the last known mod-sequence (non-zero).
	ModSeq uint64
	// KnownUIDs is the set of UIDs the client knows, nil when absent
	// (then all UIDs are meant). It holds no "*".
	KnownUIDs imap.UIDSet
	// SeqMatch is the seq-match-data, nil when absent.
	SeqMatch *SeqMatch
}

// SeqMatch is the seq-match-data of QRESYNC (RFC 7162 §3.2.5.2): message
// numbers and the UIDs the client believes they have, pairwise, both in
// ascending order and of the same length (checked by the reader).
type SeqMatch struct {
	SeqNums imap.SeqSet
	UIDs    imap.UIDSet
}

// ReadSelectArgs reads the arguments of SELECT or EXAMINE from the SP
// after the command name up to, not including, the CRLF: SP mailbox
// [SP select-params].
func (r *Reader) ReadSelectArgs() (string, *SelectParams, error) {
	name, err := r.ReadMailboxArg()
	if err != nil {
		return "", nil, err
	}
	p, err := r.ReadSelectParams()
	if err != nil {
		return "", nil, err
	}
	return name, p, nil
}

// ReadSelectParams reads the optional [SP "(" select-param *(SP
// select-param) ")"] after the mailbox name of SELECT or EXAMINE. With
// no SP it returns empty parameters. Unknown or repeated QRESYNC
// parameters and an empty list are a *SyntaxError.
func (r *Reader) ReadSelectParams() (*SelectParams, error) {
	p := &SelectParams{}
	sp, err := r.MaybeSP()
	if err != nil {
		return nil, err
	}
	if !sp {
		return p, nil
	}
	n := 0
	err = r.ReadList(func() error {
		n++
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "CONDSTORE":
			p.CondStore = true
		case "QRESYNC":
			if p.QResync != nil {
				return syntaxErr("QRESYNC twice")
			}
			if err := r.ReadSP(); err != nil {
				return err
			}
			p.QResync, err = r.readQResync()
			return err
		default:
			return syntaxErr("unknown select parameter %q", truncate(a))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, syntaxErr("empty select parameter list")
	}
	return p, nil
}

func (r *Reader) readQResync() (*QResyncParams, error) {
	q := &QResyncParams{}
	if err := r.expect('(', "'(' after QRESYNC"); err != nil {
		return nil, err
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	defer r.leave()
	var err error
	if q.UIDValidity, err = r.ReadNzNumber(); err != nil {
		return nil, err
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = r.ReadModSeq(); err != nil {
		return nil, err
	}
	if q.ModSeq == 0 {
		return nil, syntaxErr("QRESYNC mod-sequence must not be 0")
	}
	for {
		sp, err := r.MaybeSP()
		if err != nil {
			return nil, err
		}
		if !sp {
			break
		}
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		switch {
		case c == '(' && q.SeqMatch == nil:
			if q.SeqMatch, err = r.readSeqMatch(); err != nil {
				return nil, err
			}
		case q.KnownUIDs == nil && q.SeqMatch == nil:
			set, err := r.readKnownSet(true)
			if err != nil {
				return nil, err
			}
			q.KnownUIDs = set.(imap.UIDSet)
		default:
			return nil, syntaxErr("bad QRESYNC parameter")
		}
	}
	if err := r.expect(')', "')' after QRESYNC parameters"); err != nil {
		return nil, err
	}
	return q, nil
}

// readSeqMatch reads "(" known-sequence-set SP known-uid-set ")".
func (r *Reader) readSeqMatch() (*SeqMatch, error) {
	if err := r.expect('(', "'('"); err != nil {
		return nil, err
	}
	if err := r.enter(); err != nil {
		return nil, err
	}
	defer r.leave()
	seq, err := r.readKnownSet(false)
	if err != nil {
		return nil, err
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	uids, err := r.readKnownSet(true)
	if err != nil {
		return nil, err
	}
	if err := r.expect(')', "')' after seq-match-data"); err != nil {
		return nil, err
	}
	m := &SeqMatch{SeqNums: seq.(imap.SeqSet), UIDs: uids.(imap.UIDSet)}
	ns, ok1 := ascendingCount(seqRanges(m.SeqNums))
	nu, ok2 := ascendingCount(uidRanges(m.UIDs))
	if !ok1 || !ok2 {
		return nil, syntaxErr("seq-match-data not in ascending order")
	}
	if ns != nu {
		return nil, syntaxErr("seq-match-data sets differ in size")
	}
	return m, nil
}

// readKnownSet reads a sequence-set without "*" or "$" (RFC 7162 §7
// known-uids, known-sequence-set, known-uid-set).
func (r *Reader) readKnownSet(uid bool) (imap.NumSet, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '$' {
		return nil, syntaxErr("$ not allowed here")
	}
	set, err := r.ReadNumSet(uid)
	if err != nil {
		return nil, err
	}
	var rs [][2]uint32
	if uid {
		rs = uidRanges(set.(imap.UIDSet))
	} else {
		rs = seqRanges(set.(imap.SeqSet))
	}
	for _, rg := range rs {
		if rg[0] == 0 || rg[1] == 0 {
			return nil, syntaxErr("* not allowed here")
		}
	}
	return set, nil
}

func seqRanges(s imap.SeqSet) [][2]uint32 {
	rs := make([][2]uint32, len(s))
	for i, r := range s {
		rs[i] = [2]uint32{r.Start, r.Stop}
	}
	return rs
}

func uidRanges(s imap.UIDSet) [][2]uint32 {
	rs := make([][2]uint32, len(s))
	for i, r := range s {
		rs[i] = [2]uint32{uint32(r.Start), uint32(r.Stop)}
	}
	return rs
}

// ascendingCount counts the numbers in ranges that must follow each other
// in strictly ascending order.
func ascendingCount(rs [][2]uint32) (uint64, bool) {
	var n uint64
	var last uint32
	for i, r := range rs {
		if i > 0 && r[0] <= last {
			return 0, false
		}
		n += uint64(r[1]-r[0]) + 1
		last = r[1]
	}
	return n, true
}

// ReadEnableArgs reads the arguments of ENABLE from the SP after the
// command name up to, not including, the CRLF: 1*(SP capability) (RFC
// 5161 §4). Names are upper-cased; the server ignores those it does not
// know (RFC 5161 §3.1).
func (r *Reader) ReadEnableArgs() ([]string, error) {
	var caps []string
	for {
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		a, err := r.ReadAtom()
		if err != nil {
			return nil, err
		}
		caps = append(caps, strings.ToUpper(a))
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c != ' ' {
			return caps, nil
		}
	}
}

// Enabled writes the ENABLED response (RFC 5161 §3.2): the capabilities
// that this ENABLE newly enabled, possibly none.
func (w *Writer) Enabled(caps []string) *Writer {
	w.Untagged().Atom("ENABLED")
	for _, c := range caps {
		w.SP().Atom(c)
	}
	return w.CRLF()
}

// ReadUIDExpungeArgs reads the argument of UID EXPUNGE from the SP after
// "EXPUNGE": SP sequence-set of UIDs (RFC 4315 §2.1, RFC 9051 §6.4.9);
// "$" (SEARCHRES) gives imap.SearchRes().
func (r *Reader) ReadUIDExpungeArgs() (imap.NumSet, error) {
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	return r.ReadNumSet(true)
}

// ReadCompressArgs reads the argument of COMPRESS from the SP after the
// command name: SP algorithm (RFC 4978 §3), upper-cased. The server
// answers an algorithm it does not know with BAD (only DEFLATE is
// defined).
func (r *Reader) ReadCompressArgs() (string, error) {
	if err := r.ReadSP(); err != nil {
		return "", err
	}
	a, err := r.ReadAtom()
	return strings.ToUpper(a), err
}
