package wire

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestReadID(t *testing.T) {
	t.Parallel()
	var pairs30, pairs31 strings.Builder
	for i := range 31 {
		if i > 0 {
			pairs31.WriteString(" ")
		}
		fmt.Fprintf(&pairs31, `"f%d" "v"`, i)
		if i == 29 {
			pairs30.WriteString(pairs31.String())
		}
	}
	field30 := strings.Repeat("f", 30)
	value1024 := strings.Repeat("v", 1024)
	tests := []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		// RFC 2971 §3.1 example.
		{` ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")`,
			map[string]string{"name": "sodr", "version": "19.34", "vendor": "Pink Floyd Music Limited"}, false},
		{" NIL", nil, false},
		{" nil", nil, false},
		{" ()", map[string]string{}, false},
		{` ("Name" NIL "OS" "Linux" "support-url" {5+}` + "\r\nx@y.z)", map[string]string{"os": "Linux", "support-url": "x@y.z"}, false},
		{" (" + pairs30.String() + ")", nil, false}, // checked by length below
		{` ("` + field30 + `" "x")`, map[string]string{field30: "x"}, false},
		{` ("x" "` + value1024 + `")`, map[string]string{"x": value1024}, false},

		// RFC 2971 §3.3 limits.
		{" (" + pairs31.String() + ")", nil, true},
		{` ("` + field30 + `f" "x")`, nil, true},
		{` ("x" "` + value1024 + `v")`, nil, true},
		{` ("name" "a" "NAME" "b")`, nil, true},
		{` ("name")`, nil, true},
		{` ("name" "a" "b")`, nil, true},
		{` (name "a")`, nil, true},
		{` ("name" a)`, nil, true},
		{` "name"`, nil, true},
		{" NILL", nil, true},
		{"", nil, true},
		{" (", nil, true},
		{` ("a" "b") `, nil, true},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.in, (*Reader).ReadID)
		if tt.bad {
			if !IsSyntax(err) {
				t.Errorf("%.60q: got %v, %v; want *SyntaxError", tt.in, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%.60q: %v", tt.in, err)
			continue
		}
		if strings.HasPrefix(tt.in, ` ("f0"`) {
			if len(got) != 30 {
				t.Errorf("30 pairs: got %d", len(got))
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%.60q: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestWriteID(t *testing.T) {
	t.Parallel()
	params := map[string]string{"version": "1.0", "name": "Yubin", "support-url": "mailto:postmaster@example.com"}
	got := render(t, func(w *Writer) { w.ID(params).ID(nil) })
	want := "* ID (\"name\" \"Yubin\" \"support-url\" \"mailto:postmaster@example.com\" \"version\" \"1.0\")\r\n* ID NIL\r\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// What the server writes, a client parsing like ReadID reads back.
	line := strings.SplitN(got, "\r\n", 2)[0]
	back, err := parseArgs(strings.TrimPrefix(line, "* ID"), (*Reader).ReadID)
	if err != nil || !reflect.DeepEqual(back, params) {
		t.Errorf("read back %v, %v", back, err)
	}
}
