package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// SortKey is a SORT key (RFC 5256 §3, RFC 5957 §3 DISPLAYFROM/DISPLAYTO).
type SortKey string

// The sort keys.
const (
	SortArrival     SortKey = "ARRIVAL"
	SortCc          SortKey = "CC"
	SortDate        SortKey = "DATE"
	SortFrom        SortKey = "FROM"
	SortSize        SortKey = "SIZE"
	SortSubject     SortKey = "SUBJECT"
	SortTo          SortKey = "TO"
	SortDisplayFrom SortKey = "DISPLAYFROM"
	SortDisplayTo   SortKey = "DISPLAYTO"
)

// SortCriterion is one sort-criterion: a key, optionally reversed.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// Sort is a parsed SORT command.
type Sort struct {
	// Return holds the ESORT return options (RFC 5267 §3.1): MIN, MAX,
	// ALL and COUNT; an empty "RETURN ()" means ALL. ESearch is set when
	// RETURN was given: the answer is an ESEARCH response (Writer.ESearch,
	// with ALL in sort order, see SortedSeqSet), not "* SORT".
	Return  imap.SearchOptions
	ESearch bool
	// Criteria are the sort criteria in order of precedence.
	Criteria []SortCriterion
	// Charset is the mandatory charset, upper-cased.
	Charset string
	// Search holds the search keys, ANDed, as ReadSearch gives them.
	Search *imap.SearchCriteria
}

// Thread is a parsed THREAD command.
type Thread struct {
	// Algorithm is upper-cased: ORDEREDSUBJECT, REFERENCES or an
	// extension the server may refuse.
	Algorithm imap.ThreadAlgorithm
	Charset   string
	Search    *imap.SearchCriteria
}

// ReadSort reads the arguments of SORT (or UID SORT) from the SP after
// the command name up to, not including, the CRLF (RFC 5256 §5, RFC 5267
// §3 ESORT, RFC 5957 §4 DISPLAY):
//
//	[SP "RETURN" SP "(" [return-opt *(SP return-opt)] ")"]
//	SP "(" sort-criterion *(SP sort-criterion) ")"
//	SP charset 1*(SP search-key)
func (r *Reader) ReadSort() (*Sort, error) {
	s := &Sort{}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c != '(' {
		a, err := r.ReadAtom()
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(a, "RETURN") {
			return nil, syntaxErr("expected RETURN or sort criteria")
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		if err := r.readSortReturn(s); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
	}
	err = r.ReadList(func() error {
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		var sc SortCriterion
		if strings.EqualFold(a, "REVERSE") {
			sc.Reverse = true
			if err := r.ReadSP(); err != nil {
				return err
			}
			if a, err = r.ReadAtom(); err != nil {
				return err
			}
		}
		switch k := SortKey(strings.ToUpper(a)); k {
		case SortArrival, SortCc, SortDate, SortFrom, SortSize, SortSubject, SortTo, SortDisplayFrom, SortDisplayTo:
			sc.Key = k
		default:
			return syntaxErr("unknown sort key %q", truncate(a))
		}
		s.Criteria = append(s.Criteria, sc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.Criteria) == 0 {
		return nil, syntaxErr("empty sort criteria")
	}
	if s.Charset, s.Search, err = r.readSearchCriteria(); err != nil {
		return nil, err
	}
	return s, nil
}

func (r *Reader) readSortReturn(s *Sort) error {
	s.ESearch = true
	return r.readReturnOptions(&s.Return, false, "sort") // RFC 5267 §3.1
}

// readSearchCriteria reads RFC 5256 search-criteria after its SP:
// SP charset 1*(SP search-key), the charset upper-cased.
func (r *Reader) readSearchCriteria() (string, *imap.SearchCriteria, error) {
	if err := r.ReadSP(); err != nil {
		return "", nil, err
	}
	cs, err := r.ReadAString()
	if err != nil {
		return "", nil, err
	}
	if err := r.ReadSP(); err != nil {
		return "", nil, err
	}
	c := &imap.SearchCriteria{}
	if err := r.readSearchKeys(c); err != nil {
		return "", nil, err
	}
	return strings.ToUpper(cs), c, nil
}

// ReadThread reads the arguments of THREAD (or UID THREAD) from the SP
// after the command name up to, not including, the CRLF (RFC 5256 §5):
// SP thread-alg SP charset 1*(SP search-key).
func (r *Reader) ReadThread() (*Thread, error) {
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	a, err := r.ReadAtom()
	if err != nil {
		return nil, err
	}
	t := &Thread{Algorithm: imap.ThreadAlgorithm(strings.ToUpper(a))}
	if t.Charset, t.Search, err = r.readSearchCriteria(); err != nil {
		return nil, err
	}
	return t, nil
}

// SortData writes the SORT response (RFC 5256 §4): "* SORT" and the
// message numbers or UIDs in sort order.
func (w *Writer) SortData(nums []uint32) *Writer {
	w.Untagged().Atom("SORT")
	for _, n := range nums {
		w.SP().Number(n)
	}
	return w.CRLF()
}

// SortedSeqSet returns nums, in the given order, as a set for an ESORT
// ALL (RFC 5267 §3.2): ascending runs become ranges, the order between
// them is kept. As an imap.SeqSet it is written in that order; convert
// its ranges for UIDs.
func SortedSeqSet(nums []uint32) imap.SeqSet {
	var set imap.SeqSet
	for _, n := range nums {
		if l := len(set); l > 0 && set[l-1].Stop+1 == n && n != 0 {
			set[l-1].Stop = n
			continue
		}
		set = append(set, imap.SeqRange{Start: n, Stop: n})
	}
	return set
}

// ThreadNode is a message in a thread tree (RFC 5256 §4). Num is its
// message number or UID; 0 is a dummy parent (a missing message), which
// is written only by the nesting of its children.
type ThreadNode struct {
	Num      uint32
	Children []*ThreadNode
}

// ThreadData writes the THREAD response (RFC 5256 §4):
//
//	S: * THREAD (2)(3 6 (4 23)(44 7 96))
//
// A node with one child continues its parent's list; a node with
// several starts one nested list per child.
func (w *Writer) ThreadData(threads []*ThreadNode) *Writer {
	w.Untagged().Atom("THREAD")
	sp := false
	for _, t := range threads {
		if !hasNum(t) {
			continue
		}
		if !sp {
			w.SP()
			sp = true
		}
		w.thread(t)
	}
	return w.CRLF()
}

// hasNum reports whether the tree at n holds a message: a dummy without
// any below it is not written (it would read as "()"). The walk stops at
// the first message, which is n itself unless n is a dummy.
func hasNum(n *ThreadNode) bool {
	stack := []*ThreadNode{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil {
			continue
		}
		if n.Num != 0 {
			return true
		}
		stack = append(stack, n.Children...)
	}
	return false
}

// thread writes "(" thread-members / thread-nested ")". A chain of single
// children is written in a loop, so only branches recurse.
func (w *Writer) thread(n *ThreadNode) {
	w.BeginList()
	first := true
	for n != nil {
		if n.Num != 0 {
			if !first {
				w.SP()
			}
			w.Number(n.Num)
			first = false
		}
		var kids []*ThreadNode
		for _, c := range n.Children {
			if hasNum(c) {
				kids = append(kids, c)
			}
		}
		switch len(kids) {
		case 0:
			n = nil
		case 1:
			n = kids[0]
		default:
			if !first {
				w.SP()
			}
			for _, c := range kids {
				w.thread(c)
			}
			n = nil
		}
	}
	w.EndList()
}
