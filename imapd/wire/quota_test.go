package wire

import (
	"reflect"
	"testing"
)

func TestReadQuotaArgs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{` "!partition/sda4"`: "!partition/sda4", ` ""`: "", " #user/alice": "#user/alice"} {
		got, err := parseArgs(in, (*Reader).ReadGetQuotaArgs)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", " ", ` "" x`, " (a)"} {
		if _, err := parseArgs(in, (*Reader).ReadGetQuotaArgs); !IsSyntax(err) {
			t.Errorf("%q: %v, want *SyntaxError", in, err)
		}
	}

	type res struct {
		root   string
		limits []QuotaLimit
	}
	read := func(r *Reader) (res, error) {
		root, l, err := r.ReadSetQuotaArgs()
		return res{root, l}, err
	}
	tests := []struct {
		in   string
		want *res // nil: want *SyntaxError
	}{
		// RFC 9208 §4.1.3 examples.
		{` "#user/alice" (STORAGE 510)`, &res{"#user/alice", []QuotaLimit{{"STORAGE", 510}}}},
		{` "!partition/sda4" (STORAGE 99999999)`, &res{"!partition/sda4", []QuotaLimit{{"STORAGE", 99999999}}}},
		{` "" ()`, &res{"", nil}},
		{` "" (storage 1 message 2 X-FOO 0)`, &res{"", []QuotaLimit{{"STORAGE", 1}, {"MESSAGE", 2}, {"X-FOO", 0}}}},
		{` "" (STORAGE 9223372036854775807)`, &res{"", []QuotaLimit{{"STORAGE", 1<<63 - 1}}}},

		{` "" (STORAGE)`, nil},
		{` "" (STORAGE x)`, nil},
		{` "" (STORAGE -1)`, nil},
		{` "" (STORAGE 9223372036854775808)`, nil},
		{` "" (STORAGE 1 storage 2)`, nil},
		{` "" STORAGE 1`, nil},
		{` ""`, nil},
		{` "" ("STORAGE" 2)`, nil},
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

func TestWriteQuota(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    func(w *Writer)
		want string
	}{
		// RFC 9208 §4.1.2, §4.1.3, §4.2 examples.
		{func(w *Writer) {
			w.Quota("#user/alice", []QuotaResource{{"STORAGE", 54, 111}, {"MESSAGE", 42, 1000}})
		}, "* QUOTA \"#user/alice\" (STORAGE 54 111 MESSAGE 42 1000)\r\n"},
		{func(w *Writer) { w.Quota("", []QuotaResource{{"STORAGE", 10, 512}}) }, "* QUOTA \"\" (STORAGE 10 512)\r\n"},
		{func(w *Writer) { w.Quota("", nil) }, "* QUOTA \"\" ()\r\n"},
		{func(w *Writer) {
			w.QuotaRoot("INBOX", []string{"#user/alice", "!partition/sda4"})
		}, "* QUOTAROOT INBOX \"#user/alice\" \"!partition/sda4\"\r\n"},
		{func(w *Writer) { w.QuotaRoot("INBOX", []string{""}) }, "* QUOTAROOT INBOX \"\"\r\n"},
		{func(w *Writer) { w.QuotaRoot("comp.mail.mime", nil) }, "* QUOTAROOT comp.mail.mime\r\n"},
	}
	for i, tt := range tests {
		if got := render(t, tt.f); got != tt.want {
			t.Errorf("%d: got  %q\nwant %q", i, got, tt.want)
		}
	}
}
