package wire

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestReadFetchItems(t *testing.T) {
	t.Parallel()
	all := imap.FetchOptions{Flags: true, InternalDate: true, RFC822Size: true, Envelope: true}
	tests := []struct {
		in   string
		want *imap.FetchOptions // nil: want *SyntaxError
		mods FetchModifiers
	}{
		{"ALL", &all, FetchModifiers{}},
		{"fast", &imap.FetchOptions{Flags: true, InternalDate: true, RFC822Size: true}, FetchModifiers{}},
		{"FULL", &imap.FetchOptions{Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
			BodyStructure: &imap.FetchItemBodyStructure{}}, FetchModifiers{Body: true}},
		{"FLAGS", &imap.FetchOptions{Flags: true}, FetchModifiers{}},
		// RFC 9051 §6.4.5 example.
		{"(FLAGS BODY[HEADER.FIELDS (DATE FROM)])", &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{
			{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"DATE", "FROM"}}}}, FetchModifiers{}},
		{"(UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE MODSEQ)", &imap.FetchOptions{UID: true, RFC822Size: true,
			InternalDate: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, ModSeq: true}, FetchModifiers{}},
		{"(BODY BODYSTRUCTURE)", &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}, FetchModifiers{Body: true}},
		{"(RFC822 RFC822.HEADER RFC822.TEXT)", &imap.FetchOptions{}, FetchModifiers{RFC822: true, RFC822Header: true, RFC822Text: true}},
		{"BODY[]", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}, FetchModifiers{}},
		{"body.peek[1.2.HEADER.FIELDS.NOT (Received \"X-Y\")]<0.1024>", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{
			{Part: []int{1, 2}, Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Received", "X-Y"},
				Partial: &imap.SectionPartial{Offset: 0, Size: 1024}, Peek: true}}}, FetchModifiers{}},
		{"BODY[3.MIME]", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Part: []int{3}, Specifier: imap.PartSpecifierMIME}}}, FetchModifiers{}},
		{"BODY[4.2.2.1]", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Part: []int{4, 2, 2, 1}}}}, FetchModifiers{}},
		{"BODY[TEXT]<10.20>", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText,
			Partial: &imap.SectionPartial{Offset: 10, Size: 20}}}}, FetchModifiers{}},
		{"(BINARY[1] BINARY.PEEK[]<5.6> BINARY.SIZE[2.3])", &imap.FetchOptions{
			BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{1}}, {Partial: &imap.SectionPartial{Offset: 5, Size: 6}, Peek: true}},
			BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2, 3}}}}, FetchModifiers{}},
		// RFC 7162 §3.1.4.1 and §3.2.6 examples.
		{"(FLAGS) (CHANGEDSINCE 12345)", &imap.FetchOptions{Flags: true, ChangedSince: 12345, ModSeq: true}, FetchModifiers{ChangedSince: 12345}},
		{"(FLAGS) (CHANGEDSINCE 12345 VANISHED)", &imap.FetchOptions{Flags: true, ChangedSince: 12345, ModSeq: true}, FetchModifiers{ChangedSince: 12345, Vanished: true}},

		{"", nil, FetchModifiers{}},
		{"()", nil, FetchModifiers{}},
		{"(ALL)", nil, FetchModifiers{}},
		{"BODY.PEEK", nil, FetchModifiers{}},
		{"BODY[MIME]", nil, FetchModifiers{}},
		{"BODY[0]", nil, FetchModifiers{}},
		{"BODY[1.]", nil, FetchModifiers{}},
		{"BODY[HEADER.FIELDS ()]", nil, FetchModifiers{}},
		{"BODY[HEADER.FIELDS]", nil, FetchModifiers{}},
		{"BODY[HEADERS]", nil, FetchModifiers{}},
		{"BODY[]<1.0>", nil, FetchModifiers{}},
		{"BODY[]<1>", nil, FetchModifiers{}},
		{"BODY[", nil, FetchModifiers{}},
		{"BINARY", nil, FetchModifiers{}},
		{"BINARY[TEXT]", nil, FetchModifiers{}},
		{"BINARY.SIZE[1]<0.1>", nil, FetchModifiers{}},
		{"FLAGZ", nil, FetchModifiers{}},
		{"(FLAGS", nil, FetchModifiers{}},
		{"FLAGS (VANISHED)", nil, FetchModifiers{}},
		{"FLAGS (CHANGEDSINCE 0)", nil, FetchModifiers{}},
		{"FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", nil, FetchModifiers{}},
		{"FLAGS ()", nil, FetchModifiers{}},
		{"FLAGS (FOO 1)", nil, FetchModifiers{}},
		{"FLAGS (CHANGEDSINCE 99999999999999999999)", nil, FetchModifiers{}},
	}
	for _, tt := range tests {
		r := newTestReader(tt.in + "\r\n")
		opts, mods, err := r.ReadFetchItems()
		if err == nil {
			err = r.ReadCRLF()
		}
		if tt.want == nil {
			if !IsSyntax(err) {
				t.Errorf("%q: got %+v, %v; want *SyntaxError", tt.in, opts, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(opts, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, opts, tt.want)
		}
		if *mods != tt.mods {
			t.Errorf("%q: modifiers %+v, want %+v", tt.in, *mods, tt.mods)
		}
	}
}
