package pop3d

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
)

func dialRaw(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

// render runs copyMessage into a string.
func render(t testing.TB, msg string, bodyLines int, stuff bool) (string, int64) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	n, err := copyMessage(w, strings.NewReader(msg), bodyLines, stuff)
	if err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return b.String(), n
}

func TestCopyMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"a\r\n", "a\r\n"},
		{"a\n", "a\r\n"},
		{"a", "a\r\n"},
		{"a\r", "a\r\n"},
		{"a\rb\r\n", "a\r\nb\r\n"},
		{".\r\n", "..\r\n"},
		{"H: v\n\n.x\n..y\n", "H: v\r\n\r\n..x\r\n...y\r\n"},
		{"x\r\n.", "x\r\n..\r\n"},
	} {
		got, n := render(t, tc.in, -1, true)
		if got != tc.want {
			t.Errorf("copyMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
		size, err := normalizedSize(strings.NewReader(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := render(t, tc.in, -1, false)
		if size != n || size != int64(len(plain)) {
			t.Errorf("%q: normalizedSize %d, copied %d, unstuffed output %d", tc.in, size, n, len(plain))
		}
	}
}

// FuzzMessage checks that normalizedSize, the size LIST reports, equals
// what RETR sends once unstuffed, and that stuffing is reversible.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{"", "a\nb", ".\r\n.", "\r\r\n\n", "H: x\r\n\r\n.body\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		size, err := normalizedSize(strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		plain, n := render(t, msg, -1, false)
		if int64(len(plain)) != size || n != size {
			t.Fatalf("size %d, copied %d, output %d", size, n, len(plain))
		}
		stuffed, _ := render(t, msg, -1, true)
		var un strings.Builder
		for _, l := range strings.SplitAfter(stuffed, "\r\n") {
			if strings.HasPrefix(l, ".") {
				if len(l) > 0 && (l == ".\r\n") {
					t.Fatalf("unstuffed terminator in %q", stuffed)
				}
				l = l[1:]
			}
			un.WriteString(l)
		}
		if un.String() != plain {
			t.Fatalf("unstuffing %q gives %q, want %q", stuffed, un.String(), plain)
		}
		if plain != "" && !strings.HasSuffix(plain, "\r\n") {
			t.Fatalf("no final CRLF: %q", plain)
		}
		top, _ := render(t, msg, 0, true)
		if !strings.HasPrefix(stuffed, top) {
			t.Fatalf("TOP 0 %q is not a prefix of RETR %q", top, stuffed)
		}
	})
}
