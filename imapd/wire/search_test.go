package wire

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestReadSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *Search // nil: want *SyntaxError
	}{
		// RFC 9051 §6.4.4 examples.
		{" FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", &Search{Criteria: &imap.SearchCriteria{
			Flag: []imap.Flag{imap.FlagFlagged}, Since: date(1994, 2, 1),
			Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "Smith"}}}}}}},
		{" TEXT \"string not in mailbox\"", &Search{Criteria: &imap.SearchCriteria{Text: []string{"string not in mailbox"}}}},
		{" CHARSET UTF-8 TEXT {12+}\r\nхорошо", &Search{Charset: "UTF-8", Criteria: &imap.SearchCriteria{Text: []string{"хорошо"}}}},
		{" RETURN (MIN COUNT) FLAGGED", &Search{ESearch: true, Return: imap.SearchOptions{ReturnMin: true, ReturnCount: true},
			Criteria: &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}}},
		{" RETURN () CHARSET us-ascii ALL", &Search{ESearch: true, Return: imap.SearchOptions{ReturnAll: true}, Charset: "US-ASCII",
			Criteria: &imap.SearchCriteria{}}},
		{" RETURN (SAVE) 1:5,*", &Search{ESearch: true, Return: imap.SearchOptions{ReturnSave: true},
			Criteria: &imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 1, Stop: 5}, {}}}}}},
		{" $ UID 3:*", &Search{Criteria: &imap.SearchCriteria{UID: []imap.UIDSet{imap.SearchRes(), {{Start: 3, Stop: 0}}}}}},
		{" OR SEEN DELETED NOT NEW", &Search{Criteria: &imap.SearchCriteria{
			Or:  [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagSeen}}, {Flag: []imap.Flag{imap.FlagDeleted}}}},
			Not: []imap.SearchCriteria{{Flag: []imap.Flag{"\\Recent"}, NotFlag: []imap.Flag{imap.FlagSeen}}},
		}}},
		{" OR (SEEN DELETED) 2", &Search{Criteria: &imap.SearchCriteria{
			Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagSeen, imap.FlagDeleted}}, {SeqNum: []imap.SeqSet{{{Start: 2, Stop: 2}}}}}},
		}}},
		{" NEW OLD", &Search{Criteria: &imap.SearchCriteria{Flag: []imap.Flag{"\\Recent"}, NotFlag: []imap.Flag{imap.FlagSeen, "\\Recent"}}}},
		{" unseen unanswered undeleted undraft unflagged UNKEYWORD $Junk KEYWORD foo", &Search{Criteria: &imap.SearchCriteria{
			Flag:    []imap.Flag{"foo"},
			NotFlag: []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagDeleted, imap.FlagDraft, imap.FlagFlagged, imap.FlagJunk}}}},
		{" ON 3-Mar-2020 SENTON 4-Mar-2020 BEFORE 1-Jan-2021 SENTSINCE 1-Jan-2000 SENTBEFORE 1-Jan-2030", &Search{Criteria: &imap.SearchCriteria{
			Since: date(2020, 3, 3), Before: date(2020, 3, 4), SentSince: date(2020, 3, 4), SentBefore: date(2020, 3, 5)}}},
		{" LARGER 100 SMALLER 5000 (SMALLER 9000 LARGER 10)", &Search{Criteria: &imap.SearchCriteria{Larger: 100, Smaller: 5000}}},
		{" SMALLER 0", &Search{Criteria: &imap.SearchCriteria{Not: []imap.SearchCriteria{{}}}}},
		{" HEADER X-Spam yes BCC a CC b TO c SUBJECT d BODY e", &Search{Criteria: &imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "X-Spam", Value: "yes"}, {Key: "Bcc", Value: "a"}, {Key: "Cc", Value: "b"},
				{Key: "To", Value: "c"}, {Key: "Subject", Value: "d"}}, Body: []string{"e"}}}},
		// RFC 7162 §3.1.5 example.
		{" MODSEQ \"/flags/\\\\draft\" all 620162338", &Search{Criteria: &imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{
			ModSeq: 620162338, MetadataName: "/flags/\\draft", MetadataType: imap.SearchCriteriaMetadataAll}}}},
		{" MODSEQ 0", &Search{Criteria: &imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{}}}},

		{"", nil},
		{" ", nil},
		{" FOO", nil},
		{" ()", nil},
		{" (SEEN", nil},
		{" NOT", nil},
		{" OR SEEN", nil},
		{" SINCE 30-Feb-2020", nil},
		{" LARGER x", nil},
		{" KEYWORD \\Seen", nil},
		{" UID $x", nil},
		{" RETURN (BOGUS) ALL", nil},
		{" RETURN ALL", nil},
		{" CHARSET", nil},
		{" MODSEQ \"/flags/x\" bogus 1", nil},
		{" MODSEQ \"/other\" all 1", nil},
		{" SEEN  SEEN", nil},
		{" " + strings.Repeat("NOT ", 100) + "ALL", nil},
		{" " + strings.Repeat("(", 100) + "ALL" + strings.Repeat(")", 100), nil},
		{" " + strings.Repeat("OR ALL ", 100) + "ALL", nil},
	}
	for _, tt := range tests {
		r := newTestReader(tt.in + "\r\n")
		got, err := r.ReadSearch()
		if err == nil {
			err = r.ReadCRLF()
		}
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
			t.Errorf("%q:\n got %+v\nwant %+v", tt.in, got.Criteria, tt.want.Criteria)
		}
	}
}

func TestReadStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want *imap.StoreFlags // nil: want *SyntaxError
		opts StoreModifiers
	}{
		// RFC 9051 §6.4.6 example.
		{"+FLAGS (\\Deleted)", &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, StoreModifiers{}},
		{"-flags.silent \\seen $Junk", &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen, imap.FlagJunk}}, StoreModifiers{}},
		{"FLAGS ()", &imap.StoreFlags{Op: imap.StoreFlagsSet}, StoreModifiers{}},
		// RFC 7162 §3.1.3 example.
		{"(UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)", &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagDeleted}}, StoreModifiers{UnchangedSince: ptr(uint64(320162338))}},

		// RFC 7162 §3.1.3: mod-sequence-valzer, 0 is valid (it fails for
		// every message) and must not read as "no condition".
		{"(UNCHANGEDSINCE 0) +FLAGS \\Seen", &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}},
			StoreModifiers{UnchangedSince: ptr(uint64(0))}},
		{"(unchangedsince 9223372036854775807) FLAGS ()", &imap.StoreFlags{Op: imap.StoreFlagsSet},
			StoreModifiers{UnchangedSince: ptr(uint64(1<<63 - 1))}},

		{"(UNCHANGEDSINCE 9223372036854775808) FLAGS ()", nil, StoreModifiers{}},
		{"(UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()", nil, StoreModifiers{}},
		{"FLAGS", nil, StoreModifiers{}},
		{"+FLAGS", nil, StoreModifiers{}},
		{"*FLAGS (\\Seen)", nil, StoreModifiers{}},
		{"+-FLAGS (\\Seen)", nil, StoreModifiers{}},
		{"+FLAGS.LOUD (\\Seen)", nil, StoreModifiers{}},
		{"+FLAGS (\\Recent)", nil, StoreModifiers{}},
		{"+FLAGS (\\*)", nil, StoreModifiers{}},
		{"+FLAGS (\\Seen", nil, StoreModifiers{}},
		{"+FLAGS \\Seen ", nil, StoreModifiers{}},
		{"() +FLAGS \\Seen", nil, StoreModifiers{}},
		{"(UNCHANGEDSINCE x) +FLAGS \\Seen", nil, StoreModifiers{}},
		{"(FOO 1) +FLAGS \\Seen", nil, StoreModifiers{}},
	}
	for _, tt := range tests {
		r := newTestReader(tt.in + "\r\n")
		got, opts, err := r.ReadStore()
		if err == nil {
			err = r.ReadCRLF()
		}
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
		if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(*opts, tt.opts) {
			t.Errorf("%q: got %+v %+v, want %+v %+v", tt.in, got, opts, tt.want, tt.opts)
		}
	}
}

func ptr[T any](v T) *T { return &v }
