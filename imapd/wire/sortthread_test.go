package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestReadSort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *Sort // nil: want *SyntaxError
	}{
		// RFC 5256 §4 examples.
		{" (SUBJECT) UTF-8 SINCE 1-Feb-1994", &Sort{Criteria: []SortCriterion{{Key: SortSubject}}, Charset: "UTF-8",
			Search: &imap.SearchCriteria{Since: date(1994, 2, 1)}}},
		{" (SUBJECT REVERSE DATE) UTF-8 ALL", &Sort{Criteria: []SortCriterion{{Key: SortSubject}, {Key: SortDate, Reverse: true}},
			Charset: "UTF-8", Search: &imap.SearchCriteria{}}},
		{` (SUBJECT) US-ASCII TEXT "not in mailbox"`, &Sort{Criteria: []SortCriterion{{Key: SortSubject}}, Charset: "US-ASCII",
			Search: &imap.SearchCriteria{Text: []string{"not in mailbox"}}}},
		// RFC 5267 §3.3 example.
		{" RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk", &Sort{ESearch: true, Return: imap.SearchOptions{ReturnAll: true},
			Criteria: []SortCriterion{{Key: SortDate, Reverse: true}}, Charset: "UTF-8",
			Search: &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted, imap.FlagJunk}}}},
		{" return (MIN max COUNT all) (arrival cc from size to displayfrom reverse displayto) utf-8 1:5 OR SEEN FLAGGED",
			&Sort{ESearch: true, Return: imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true, ReturnAll: true},
				Criteria: []SortCriterion{{Key: SortArrival}, {Key: SortCc}, {Key: SortFrom}, {Key: SortSize}, {Key: SortTo},
					{Key: SortDisplayFrom}, {Key: SortDisplayTo, Reverse: true}}, Charset: "UTF-8",
				Search: &imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 1, Stop: 5}}},
					Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagSeen}}, {Flag: []imap.Flag{imap.FlagFlagged}}}}}}},
		{` (DATE) "UTF-8" ALL`, &Sort{Criteria: []SortCriterion{{Key: SortDate}}, Charset: "UTF-8", Search: &imap.SearchCriteria{}}},

		{"", nil},
		{" () UTF-8 ALL", nil},
		{" (FOO) UTF-8 ALL", nil},
		{" (REVERSE) UTF-8 ALL", nil},
		{" (REVERSE REVERSE DATE) UTF-8 ALL", nil},
		{" (DATE)", nil},
		{" (DATE) UTF-8", nil},
		{" (DATE) UTF-8 ", nil},
		{" (DATE) UTF-8 FOO", nil},
		{" (DATE) ALL", nil}, // the charset is mandatory: ALL is read as one
		{" DATE UTF-8 ALL", nil},
		{" RETURN (SAVE) (DATE) UTF-8 ALL", nil},
		{" RETURN (DATE) UTF-8 ALL", nil},
		{" RETURN () UTF-8 ALL", nil},
		{" FOO () (DATE) UTF-8 ALL", nil},
		{" (DATE) UTF-8 ALL ", nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, (*Reader).ReadSort)
		if tt.want == nil {
			if !IsSyntax(err) {
				t.Errorf("%q: got %+v, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v %+v\nwant %+v %+v", tt.in, got, got.Search, tt.want, tt.want.Search)
		}
	}
}

func TestReadThread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *Thread // nil: want *SyntaxError
	}{
		// RFC 5256 §4 examples.
		{" ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", &Thread{Algorithm: imap.ThreadOrderedSubject, Charset: "UTF-8",
			Search: &imap.SearchCriteria{Since: date(2000, 3, 5)}}},
		{" references us-ascii ALL", &Thread{Algorithm: imap.ThreadReferences, Charset: "US-ASCII", Search: &imap.SearchCriteria{}}},
		{" X-ALG UTF-8 ALL", &Thread{Algorithm: "X-ALG", Charset: "UTF-8", Search: &imap.SearchCriteria{}}},

		{"", nil},
		{" REFERENCES", nil},
		{" REFERENCES UTF-8", nil},
		{" (REFERENCES) UTF-8 ALL", nil},
		{" REFERENCES UTF-8 (", nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, (*Reader).ReadThread)
		if tt.want == nil {
			if !IsSyntax(err) {
				t.Errorf("%q: got %+v, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestSortDepth: the search program of SORT obeys MaxDepth.
func TestSortDepth(t *testing.T) {
	t.Parallel()
	in := " (DATE) UTF-8 " + strings.Repeat("NOT ", 40) + "ALL\r\n"
	r := NewReader(strings.NewReader(in), Options{MaxDepth: 8})
	_, err := r.ReadSort()
	var se *SyntaxError
	if !IsSyntax(err) || !asSyntax(err, &se) || se.Code != "TOOBIG" {
		t.Fatalf("got %v, want TOOBIG", err)
	}
}

func asSyntax(err error, se **SyntaxError) bool {
	s, ok := err.(*SyntaxError)
	*se = s
	return ok
}

func node(n uint32, kids ...*ThreadNode) *ThreadNode { return &ThreadNode{Num: n, Children: kids} }

func TestWriteSortThread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		// RFC 5256 §4.
		{func(w *Writer) { w.SortData([]uint32{2, 84, 882}) }, "* SORT 2 84 882\r\n"},
		{func(w *Writer) { w.SortData(nil) }, "* SORT\r\n"},
		{func(w *Writer) {
			w.ThreadData([]*ThreadNode{node(2), node(3, node(6, node(4, node(23)), node(44, node(7, node(96)))))})
		}, "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"},
		// A dummy parent (0) with several children: thread-nested alone.
		{func(w *Writer) { w.ThreadData([]*ThreadNode{node(0, node(3), node(5))}) }, "* THREAD ((3)(5))\r\n"},
		// A dummy parent with one child is that child's thread.
		{func(w *Writer) { w.ThreadData([]*ThreadNode{node(0, node(3, node(4)))}) }, "* THREAD (3 4)\r\n"},
		{func(w *Writer) {
			w.ThreadData([]*ThreadNode{node(166), node(174, node(175), node(176), node(178)), node(194, node(195)), node(196, node(197), node(198))})
		}, "* THREAD (166)(174 (175)(176)(178))(194 195)(196 (197)(198))\r\n"},
		{func(w *Writer) { w.ThreadData(nil) }, "* THREAD\r\n"},
		// Dummies without messages below them are left out.
		{func(w *Writer) { w.ThreadData([]*ThreadNode{node(1, node(0), node(3)), node(0, node(0))}) }, "* THREAD (1 3)\r\n"},
		{func(w *Writer) { w.ThreadData([]*ThreadNode{node(1, node(0, node(4), node(5)), node(3))}) }, "* THREAD (1 ((4)(5))(3))\r\n"},
		{func(w *Writer) { w.ThreadData([]*ThreadNode{nil, node(0), node(1, nil)}) }, "* THREAD (1)\r\n"},
		// ESORT ALL keeps the sort order (RFC 5267 §3.3).
		{func(w *Writer) {
			w.ESearch("E01", true, imap.SearchOptions{ReturnAll: true},
				&imap.SearchData{All: SortedSeqSet([]uint32{23765, 23764, 23763, 23761}), Count: 4})
		}, "* ESEARCH (TAG \"E01\") UID ALL 23765,23764,23763,23761\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
	if got := SortedSeqSet([]uint32{5, 3, 4, 10, 11, 12, 1}).String(); got != "5,3:4,10:12,1" {
		t.Errorf("SortedSeqSet: got %s", got)
	}
}

// TestThreadLongChain: a reply chain of 100,000 messages is written
// without deep recursion and with every number once.
func TestThreadLongChain(t *testing.T) {
	t.Parallel()
	root := node(1)
	n := root
	for i := uint32(2); i <= 100000; i++ {
		c := node(i)
		n.Children = []*ThreadNode{c}
		n = c
	}
	out := render(t, func(w *Writer) { w.ThreadData([]*ThreadNode{root}) })
	if !strings.HasPrefix(out, "* THREAD (1 2 3 ") || !strings.HasSuffix(out, " 99999 100000)\r\n") || strings.Count(out, " ") != 2+99999 {
		t.Fatalf("bad output, %d bytes", len(out))
	}
}
