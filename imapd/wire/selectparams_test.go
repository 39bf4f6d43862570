package wire

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestReadSelectArgs(t *testing.T) {
	t.Parallel()
	type res struct {
		name string
		p    *SelectParams
	}
	read := func(r *Reader) (res, error) {
		n, p, err := r.ReadSelectArgs()
		return res{n, p}, err
	}
	tests := []struct {
		in   string
		want *res // nil: want *SyntaxError
	}{
		{" INBOX", &res{"INBOX", &SelectParams{}}},
		{" blurdybloop (CONDSTORE)", &res{"blurdybloop", &SelectParams{CondStore: true}}},
		// RFC 7162 §3.2.5 examples.
		{" INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", &res{"INBOX", &SelectParams{QResync: &QResyncParams{
			UIDValidity: 67890007, ModSeq: 20050715194045000,
			KnownUIDs: imap.UIDSet{{Start: 41, Stop: 41}, {Start: 43, Stop: 211}, {Start: 214, Stop: 541}}}}}},
		{" INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973," +
			"29976,29979,29982,29985,29988,29991,29994,29997)))", &res{"INBOX", &SelectParams{QResync: &QResyncParams{
			UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: imap.UIDSet{{Start: 1, Stop: 29997}},
			SeqMatch: &SeqMatch{
				SeqNums: imap.SeqSet{{Start: 5000, Stop: 5000}, {Start: 7500, Stop: 7500}, {Start: 9000, Stop: 9000}, {Start: 9990, Stop: 9999}},
				UIDs:    imap.UIDSetNum(15000, 22500, 27000, 29970, 29973, 29976, 29979, 29982, 29985, 29988, 29991, 29994, 29997),
			}}}}},
		{" INBOX (qresync (1 2) condstore)", &res{"INBOX", &SelectParams{CondStore: true, QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2}}}},
		// seq-match-data without known-uids.
		{" INBOX (QRESYNC (1 2 (1:3 7,9,12)))", &res{"INBOX", &SelectParams{QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2,
			SeqMatch: &SeqMatch{SeqNums: imap.SeqSet{{Start: 1, Stop: 3}}, UIDs: imap.UIDSetNum(7, 9, 12)}}}}},

		{" INBOX ()", nil},
		{" INBOX (FOO)", nil},
		{" INBOX (CONDSTORE", nil},
		{" INBOX CONDSTORE", nil},
		{" INBOX (QRESYNC)", nil},
		{" INBOX (QRESYNC ())", nil},
		{" INBOX (QRESYNC (0 5))", nil},     // uidvalidity is nz-number
		{" INBOX (QRESYNC (1 0))", nil},     // mod-sequence-value is not 0
		{" INBOX (QRESYNC (1))", nil},       // modseq missing
		{" INBOX (QRESYNC (1 5 1:*))", nil}, // RFC 7162 §7: "*" not allowed
		{" INBOX (QRESYNC (1 5 *))", nil},
		{" INBOX (QRESYNC (1 5 $))", nil},
		{" INBOX (QRESYNC (1 5 1:3 4:5))", nil},
		{" INBOX (QRESYNC (1 5 (1:2 3)))", nil},   // sets of different sizes
		{" INBOX (QRESYNC (1 5 (2,1 3,4)))", nil}, // not ascending
		{" INBOX (QRESYNC (1 5 (1,2 4,3)))", nil}, // not ascending
		{" INBOX (QRESYNC (1 5 (1:* 3)))", nil},
		{" INBOX (QRESYNC (1 5 (1 2) (1 2)))", nil},
		{" INBOX (QRESYNC (1 5 (1 2) 3))", nil},
		{" INBOX (QRESYNC (1 5) QRESYNC (1 5))", nil},
		{" INBOX (QRESYNC (1 9223372036854775808))", nil},
		{" INBOX (QRESYNC (1 5 ))", nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, read)
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
		if !reflect.DeepEqual(got, *tt.want) {
			t.Errorf("%q:\n got %+v %+v\nwant %+v %+v", tt.in, got, got.p.QResync, tt.want, tt.want.p.QResync)
		}
	}
}

func TestReadEnableArgs(t *testing.T) {
	t.Parallel()
	got, err := parseArgs(" QRESYNC condstore X-FOO", (*Reader).ReadEnableArgs)
	if err != nil || !reflect.DeepEqual(got, []string{"QRESYNC", "CONDSTORE", "X-FOO"}) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, in := range []string{"", " ", " QRESYNC ", " (QRESYNC)", ` "QRESYNC"`, " A  B"} {
		if _, err := parseArgs(in, (*Reader).ReadEnableArgs); !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
	out := render(t, func(w *Writer) { w.Enabled([]string{"CONDSTORE", "QRESYNC"}).Enabled(nil) })
	if want := "* ENABLED CONDSTORE QRESYNC\r\n* ENABLED\r\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestReadUIDExpungeAndCompress(t *testing.T) {
	t.Parallel()
	set, err := parseArgs(" 3000:3002,5", (*Reader).ReadUIDExpungeArgs)
	if err != nil || set.String() != "3000:3002,5" {
		t.Errorf("got %v, %v", set, err)
	}
	if set, err = parseArgs(" $", (*Reader).ReadUIDExpungeArgs); err != nil || !imap.IsSearchRes(set) {
		t.Errorf("$: got %v, %v", set, err)
	}
	for _, in := range []string{"", " 0", " a", " 1:"} {
		if _, err := parseArgs(in, (*Reader).ReadUIDExpungeArgs); !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
	alg, err := parseArgs(" deflate", (*Reader).ReadCompressArgs)
	if err != nil || alg != "DEFLATE" {
		t.Errorf("got %q, %v", alg, err)
	}
	for _, in := range []string{"", " ", " DEFLATE X", ` "DEFLATE"`} {
		if _, err := parseArgs(in, (*Reader).ReadCompressArgs); !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
}
