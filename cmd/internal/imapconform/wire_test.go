package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"lines", "* OK hi\r\nA1 OK done\r\n", []string{"* OK hi", "A1 OK done"}},
		{"bare LF", "* OK hi\nA1 OK\n", []string{"* OK hi", "A1 OK"}},
		{"literal", "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\nA1 OK\r\n", []string{"* 1 FETCH (BODY[] {5}\r\nab\r\nc)", "A1 OK"}},
		{"two literals", "* 1 FETCH (A {1}\r\nx B {2}\r\n{})\r\n", []string{"* 1 FETCH (A {1}\r\nx B {2}\r\n{})"}},
		{"literal8", "* 1 FETCH (BINARY[1] ~{3}\r\n\x00\r\n)\r\n", []string{"* 1 FETCH (BINARY[1] ~{3}\r\n\x00\r\n)"}},
		{"empty literal", "* 1 FETCH (BODY[2] {0}\r\n)\r\n", []string{"* 1 FETCH (BODY[2] {0}\r\n)"}},
		{"non-sync literal", "* X {2+}\r\nab\r\n", []string{"* X {2+}\r\nab"}},
		{"braces not at end", "* OK {5} is text\r\n", []string{"* OK {5} is text"}},
	} {
		r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
		for i, want := range tc.want {
			got, err := readResponse(r)
			if err != nil || got != want {
				t.Errorf("%s: response %d = %q, %v; want %q", tc.name, i, got, err, want)
			}
		}
	}
}

func TestReadResponseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in string }{
		{"literal cut short", "* 1 FETCH (BODY[] {10}\r\nabc"},
		{"no CRLF at EOF", "* OK partial"},
		{"literal over the limit", "* X {99999999999}\r\n"},
		{"eof", ""},
	} {
		if got, err := readResponse(bufio.NewReader(strings.NewReader(tc.in))); err == nil {
			t.Errorf("%s: got %q, no error", tc.name, got)
		}
	}
}

func TestReadResponseLongLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100000)
	got, err := readResponse(bufio.NewReaderSize(strings.NewReader("* "+long+"\r\n"), 16))
	if err != nil || got != "* "+long {
		t.Fatalf("long line: len %d, %v", len(got), err)
	}
}

// FuzzReadResponse: any server output gives a response or an error,
// never a panic, and never more than maxResponse bytes.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"* OK hi\r\n", "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\n", "* X ~{3}\r\n\x00\x01\x02)\r\n",
		"* X {99999999999}\r\n", "* X {2+}\r\nab\r\n", "{0}\r\n\r\n", "* {1}\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReaderSize(strings.NewReader(in), 16)
		for i := 0; i < 100; i++ {
			got, err := readResponse(r)
			if len(got) > maxResponse+2 {
				t.Fatalf("response of %d bytes", len(got))
			}
			if err != nil {
				return
			}
		}
	})
}
