package wire

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestReadStatusArgs(t *testing.T) {
	t.Parallel()
	type res struct {
		name string
		opts *imap.StatusOptions
	}
	read := func(r *Reader) (res, error) {
		n, o, err := r.ReadStatusArgs()
		return res{n, o}, err
	}
	tests := []struct {
		in   string
		want *res // nil: want *SyntaxError
	}{
		// RFC 9051 §6.3.11 example.
		{" blurdybloop (UIDNEXT MESSAGES)", &res{"blurdybloop", &imap.StatusOptions{UIDNext: true, NumMessages: true}}},
		{" inbox (messages recent uidnext uidvalidity unseen deleted size appendlimit deleted-storage highestmodseq)",
			&res{"INBOX", &imap.StatusOptions{NumMessages: true, NumRecent: true, UIDNext: true, UIDValidity: true, NumUnseen: true,
				NumDeleted: true, Size: true, AppendLimit: true, DeletedStorage: true, HighestModSeq: true}}},
		{` "&ZeVnLIqe-" (SIZE)`, &res{"日本語", &imap.StatusOptions{Size: true}}},

		{" INBOX ()", nil},
		{" INBOX", nil},
		{" INBOX (MESSAGES", nil},
		{" INBOX (FOO)", nil},
		{" INBOX MESSAGES", nil},
		{" INBOX (MESSAGES  UNSEEN)", nil},
		{" INBOX (MESSAGES) ", nil},
		{" (MESSAGES)", nil},
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
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestWriteStatusData(t *testing.T) {
	t.Parallel()
	n := func(v uint32) *uint32 { return &v }
	size := int64(4096)
	all := &imap.StatusOptions{NumMessages: true, NumRecent: true, UIDNext: true, UIDValidity: true, NumUnseen: true,
		NumDeleted: true, Size: true, AppendLimit: true, DeletedStorage: true, HighestModSeq: true}
	data := &imap.StatusData{NumMessages: n(231), NumRecent: n(1), UIDNext: 44292, UIDValidity: 3857529045, NumUnseen: n(0),
		NumDeleted: n(4), Size: &size, HighestModSeq: 7011231777}
	got := render(t, func(w *Writer) { w.StatusData("blurdybloop", StatusItems(all, data)) })
	want := "* STATUS blurdybloop (MESSAGES 231 RECENT 1 UIDNEXT 44292 UIDVALIDITY 3857529045 UNSEEN 0 DELETED 4 SIZE 4096 " +
		"APPENDLIMIT NIL DELETED-STORAGE 0 HIGHESTMODSEQ 7011231777)\r\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Only what was asked, in RFC order; an APPENDLIMIT with a limit.
	data.AppendLimit = n(1 << 20)
	got = render(t, func(w *Writer) {
		w.StatusData("Ünï", StatusItems(&imap.StatusOptions{AppendLimit: true, NumMessages: true}, data))
	})
	if want := "* STATUS &ANw-n&AO8- (MESSAGES 231 APPENDLIMIT 1048576)\r\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// HIGHESTMODSEQ 0 is written when asked (a mailbox without changes).
	got = render(t, func(w *Writer) {
		w.StatusData("INBOX", StatusItems(&imap.StatusOptions{HighestModSeq: true}, &imap.StatusData{}))
	})
	if want := "* STATUS INBOX (HIGHESTMODSEQ 0)\r\n"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
