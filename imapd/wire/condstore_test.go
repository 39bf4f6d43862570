package wire

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestWriteCondStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		// RFC 7162 §3.2.5.1, §3.2.6, §3.2.7 examples.
		{func(w *Writer) { w.Vanished(true, CompactUIDs([]imap.UID{300, 301, 302, 405, 411, 303})) },
			"* VANISHED (EARLIER) 300:303,405,411\r\n"},
		{func(w *Writer) { w.Vanished(false, CompactUIDs([]imap.UID{425, 405, 407, 410, 405})) },
			"* VANISHED 405,407,410,425\r\n"},
		{func(w *Writer) {
			w.BeginFetch(1).Atom("UID").SP().Number(404).SP().FetchModSeq(65402).SP().Atom("FLAGS").SP().
				Flags([]imap.Flag{imap.FlagSeen}).EndFetch()
		}, "* 1 FETCH (UID 404 MODSEQ (65402) FLAGS (\\Seen))\r\n"},
		{func(w *Writer) { w.Status("", imap.StatusResponseTypeOK, CodeHighestModSeq(715194045007), "Highest") },
			"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"},
		{func(w *Writer) {
			w.Status("", imap.StatusResponseTypeOK, CodeNoModSeq, "Sorry, this mailbox format doesn't support modsequences")
		},
			"* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n"},
		{func(w *Writer) {
			w.Status("a103", imap.StatusResponseTypeOK, CodeModified(imap.SeqSetNum(7, 9)), "Conditional STORE failed")
		}, "a103 OK [MODIFIED 7,9] Conditional STORE failed\r\n"},
		{func(w *Writer) {
			w.Status("d105", imap.StatusResponseTypeOK, CodeModified(CompactUIDs([]imap.UID{1, 2, 3, 7})), "done")
		}, "d105 OK [MODIFIED 1:3,7] done\r\n"},
		{func(w *Writer) { w.Status("", imap.StatusResponseTypeOK, CodeClosed, "Previous mailbox closed") },
			"* OK [CLOSED] Previous mailbox closed\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in   []imap.UID
		want string
	}{
		{nil, ""},
		{[]imap.UID{0}, ""},
		{[]imap.UID{5, 1, 2, 3, 3, 0, 9, 10}, "1:3,5,9:10"},
		{[]imap.UID{4294967295, 4294967294}, "4294967294:4294967295"},
	} {
		if got := CompactUIDs(tt.in).String(); got != tt.want {
			t.Errorf("CompactUIDs(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ns   *imap.NamespaceData
		want string
	}{
		// RFC 2342 §5 examples.
		{&imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"},
		{nil, "* NAMESPACE NIL NIL NIL\r\n"},
		{&imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}},
			Other:  []imap.NamespaceDescriptor{{Prefix: "~", Delim: '/'}},
			Shared: []imap.NamespaceDescriptor{{Prefix: "#shared/", Delim: '/'}, {Prefix: "#public/", Delim: '/'}, {Prefix: "Geteilt/", Delim: 0}}},
			"* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"Geteilt/\" NIL))\r\n"},
		{&imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "INBOX.", Delim: '.'}},
			Shared: []imap.NamespaceDescriptor{{Prefix: "Öffentlich\\", Delim: '\\'}}},
			"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"&ANY-ffentlich\\\\\" \"\\\\\"))\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, func(w *Writer) { w.Namespace(tt.ns) }); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
}

func TestWriteFetchNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		{func(w *Writer) { w.BodySectionName(&imap.FetchItemBodySection{Peek: true}) }, "BODY[]"},
		{func(w *Writer) {
			w.BodySectionName(&imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 0, Size: 10}})
		}, "BODY[]<0>"},
		{func(w *Writer) {
			w.BodySectionName(&imap.FetchItemBodySection{Part: []int{1, 2}, Specifier: imap.PartSpecifierHeader,
				HeaderFields: []string{"Date", "From", "X y"}, Partial: &imap.SectionPartial{Offset: 100, Size: 50}})
		}, `BODY[1.2.HEADER.FIELDS (Date From "X y")]<100>`},
		{func(w *Writer) {
			w.BodySectionName(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"X-Spam"}})
		}, "BODY[HEADER.FIELDS.NOT (X-Spam)]"},
		{func(w *Writer) {
			w.BodySectionName(&imap.FetchItemBodySection{Part: []int{3}, Specifier: imap.PartSpecifierMIME})
		}, "BODY[3.MIME]"},
		{func(w *Writer) { w.BodySectionName(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}) }, "BODY[TEXT]"},
		{func(w *Writer) { w.BodySectionName(&imap.FetchItemBodySection{Part: []int{4, 1}}) }, "BODY[4.1]"},
		// The conformance case: a partial BINARY answered with
		// its origin (RFC 3516 §4.2).
		{func(w *Writer) {
			w.BinarySectionName(&imap.FetchItemBinarySection{Part: []int{1}, Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: 5}})
		}, "BINARY[1]<0>"},
		{func(w *Writer) { w.BinarySectionName(&imap.FetchItemBinarySection{}) }, "BINARY[]"},
		{func(w *Writer) { w.BinarySizeName(&imap.FetchItemBinarySectionSize{Part: []int{2, 3}}) }, "BINARY.SIZE[2.3]"},
		{func(w *Writer) { w.InternalDate(time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))) }, `"17-Jul-1996 02:44:25 -0700"`},
		{func(w *Writer) { w.InternalDate(time.Date(2024, 3, 5, 23, 0, 0, 0, time.UTC)) }, `" 5-Mar-2024 23:00:00 +0000"`},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
	// A written date-time reads back (RFC 9051 §9 date-time).
	d := time.Date(2024, 3, 5, 23, 1, 2, 0, time.FixedZone("", 9*3600+30*60))
	out := render(t, func(w *Writer) { w.InternalDate(d) })
	back, err := newTestReader(out).ReadDateTime()
	if err != nil || !back.Equal(d) {
		t.Errorf("%s read back as %v, %v", out, back, err)
	}
}
