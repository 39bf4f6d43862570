package wire

import (
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestReadCreateArgs(t *testing.T) {
	t.Parallel()
	type res struct {
		name string
		p    *CreateParams
	}
	read := func(r *Reader) (res, error) {
		n, p, err := r.ReadCreateArgs()
		return res{n, p}, err
	}
	tests := []struct {
		in   string
		want *res // nil: want *SyntaxError
	}{
		{" owatagusiam/", &res{"owatagusiam/", &CreateParams{}}},
		// RFC 6154 §5.3 example.
		{` MySpecial (USE (\Drafts \Sent))`, &res{"MySpecial", &CreateParams{UseGiven: true,
			SpecialUse: []imap.MailboxAttr{imap.MailboxAttrDrafts, imap.MailboxAttrSent}}}},
		{` x (use (\drafts \ALL \Important \X-Foo))`, &res{"x", &CreateParams{UseGiven: true,
			SpecialUse: []imap.MailboxAttr{imap.MailboxAttrDrafts, imap.MailboxAttrAll, `\Important`, `\X-Foo`}}}},
		{` x (USE ())`, &res{"x", &CreateParams{UseGiven: true}}},

		{" x ()", nil},
		{" x (FOO)", nil},
		{" x (USE)", nil},
		{` x (USE (Drafts))`, nil},
		{` x (USE \Drafts)`, nil},
		{` x (USE (\Drafts) USE (\Sent))`, nil},
		{` x (USE (\))`, nil},
		{` x USE (\Drafts)`, nil},
		{"", nil},
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
			t.Errorf("%q: got %+v %+v, want %+v", tt.in, got, got.p, tt.want.p)
		}
	}
}

func TestReadRenameArgs(t *testing.T) {
	t.Parallel()
	r := newTestReader(" blurdybloop \"&ZeVnLIqe-\"\r\n")
	from, to, err := r.ReadRenameArgs()
	if err == nil {
		err = r.ReadCRLF()
	}
	if err != nil || from != "blurdybloop" || to != "日本語" {
		t.Errorf("got %q %q %v", from, to, err)
	}
	for _, in := range []string{" a", " a ", " a b c", " a (b)"} {
		r := newTestReader(in + "\r\n")
		_, _, err := r.ReadRenameArgs()
		if err == nil {
			err = r.ReadCRLF()
		}
		if !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}
}
