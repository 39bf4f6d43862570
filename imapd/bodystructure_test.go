package imapd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

func bodyStructureOf(t testing.TB, msg []byte, extended bool) string {
	t.Helper()
	b, err := parseBodyStructure(bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return bodyStructureText(b, extended)
}

// TestBodyStructureTable checks BODY and BODYSTRUCTURE against the RFC
// text for cases the Dovecot corpus does not cover.
func TestBodyStructureTable(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, msg, want string }{
		// RFC 2046 §5.1.1: the CRLF before a delimiter belongs to it; a
		// body of one empty line has size 0.
		{"crlf before delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\n--b--\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`},
		{"two empty lines", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\n\n--b--\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`},
		// A boundary that is a prefix of the inner one.
		{"prefix boundaries", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=bb\n\n--bb\n\nx\n--bb--\n--b--\n",
			`((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0) "mixed") "mixed")`},
		// "--bx" is not a delimiter of "b".
		{"not a delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b--\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0) "mixed")`},
		// Content-Language as a list; Content-Disposition parameters.
		{"disposition language", "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"r.pdf\"; size=3\nContent-Language: (comment) en-US\n\nabc",
			`("application" "octet-stream" NIL NIL NIL "7bit" 3 NIL ("attachment" ("filename" "r.pdf" "size" "3")) ("en-US") NIL)`},
		// Content-Type with a comment and white space (RFC 2045 §5.1).
		{"type with comments", "Content-Type: text (x) / html ; charset = \"utf-8\" (y)\n\n<p>\n",
			`("text" "html" ("charset" "utf-8") NIL NIL "7bit" 5 1)`},
		// Bare LF line ends count as lines too.
		{"bare lf", "Content-Type: text/plain\n\na\nb\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "bare lf" {
				got := bodyStructureOf(t, []byte(tt.msg), false)
				want := `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 2)`
				if got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				return
			}
			extended := strings.Contains(tt.want, " NIL NIL NIL") || strings.Contains(tt.want, "attachment")
			if got := bodyStructureOf(t, crlf(tt.msg), extended); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestBodyStructureDepthBound nests multiparts beyond maxBodyDepth: the
// part at the bound is opaque, the answer well formed.
func TestBodyStructureDepthBound(t *testing.T) {
	t.Parallel()
	const n = 150
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\n\n")
	for i := range n {
		fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\n\nleaf\n", n)
	for i := n; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	got := bodyStructureOf(t, crlf(b.String()), true)
	if err := checkBodySyntax(got); err != nil {
		t.Fatal(err)
	}
	// Parts at depths 0..maxBodyDepth, plus the opaque part's
	// parameter list.
	if d := maxParenDepth(got); d != maxBodyDepth+2 {
		t.Errorf("nesting %d in the answer, want %d", d, maxBodyDepth+2)
	}
	if !strings.Contains(got, `("application" "octet-stream" ("boundary" "b100")`) {
		t.Errorf("the part at depth %d is not opaque: %.300s...", maxBodyDepth, got[maxBodyDepth:])
	}
}

// TestBodyStructurePartsBound has far more parts than maxBodyParts, some
// nested, some of 5 bytes: the structure stops at the bound.
func TestBodyStructurePartsBound(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\n\n")
	for range 6000 {
		b.WriteString("--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\nx\n--c--\n")
	}
	b.WriteString(strings.Repeat("--b\n", 200_000))
	b.WriteString("--b--\n")
	msg := crlf(b.String())
	p, err := parseBodyStructure(bytes.NewReader(msg), int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	var count func(*bodyPart)
	count = func(p *bodyPart) {
		parts++
		for _, c := range p.Parts {
			count(c)
		}
	}
	count(p)
	if parts > maxBodyParts {
		t.Errorf("%d parts in the structure, bound %d", parts, maxBodyParts)
	}
	// The root, 2 per nested part, and the one that reaches the bound,
	// opaque.
	if got, want := len(p.Parts), maxBodyParts/2; got != want {
		t.Errorf("%d parts listed, want %d", got, want)
	}
	if last := p.Parts[len(p.Parts)-1]; last.Type != "application" || len(last.Parts) != 0 {
		t.Errorf("the part at the bound is %s/%s with %d parts, want opaque", last.Type, last.Subtype, len(last.Parts))
	}
	s := bodyStructureText(p, true)
	if err := checkBodySyntax(s); err != nil {
		t.Fatal(err)
	}
}

// synthMessage is a message of a header, n copies of line and a tail,
// generated on the fly: a large part without a large file or buffer.
type synthMessage struct {
	head, line, tail string
	n                int64
}

func (m *synthMessage) size() int64 {
	return int64(len(m.head)) + m.n*int64(len(m.line)) + int64(len(m.tail))
}

func (m *synthMessage) ReadAt(p []byte, off int64) (int, error) {
	total := m.size()
	if off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < total {
		var c byte
		switch body := off - int64(len(m.head)); {
		case off < int64(len(m.head)):
			c = m.head[off]
		case body < m.n*int64(len(m.line)):
			c = m.line[body%int64(len(m.line))]
		default:
			c = m.tail[body-m.n*int64(len(m.line))]
		}
		p[n] = c
		n++
		off++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestBodyStructureStreams parses a 64 MiB attachment and a 16 MiB line
// without a line end, and checks the memory allocated stays small: parts
// are not read into memory.
func TestBodyStructureStreams(t *testing.T) {
	line := strings.Repeat("QUJD", 19) + "\r\n" // 78 bytes, base64
	m := &synthMessage{
		head: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		line: line,
		n:    (64 << 20) / int64(len(line)),
		tail: "--b\r\n\r\n" + strings.Repeat("x", 16<<20) + "\r\n--b--\r\n",
	}
	// The long line is in tail: build it once outside the measurement.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := parseBodyStructure(m, m.size())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Parts[0].Size, uint32(m.n*int64(len(line))-2); got != want {
		t.Errorf("attachment size %d, want %d", got, want)
	}
	if got, want := p.Parts[0].Lines, uint32(m.n-1); got != want {
		t.Errorf("attachment lines %d, want %d", got, want)
	}
	if got := p.Parts[1].Size; got != 16<<20 {
		t.Errorf("long line part size %d, want %d", got, 16<<20)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB parsed with %d KiB allocated", m.size()>>20, alloc>>10)
	if alloc > 1<<20 {
		t.Errorf("%d bytes allocated to parse %d: parts are read into memory", alloc, m.size())
	}
}

type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

// TestBodyStructureReadError checks a read error is returned, not a
// structure made of what was read.
func TestBodyStructureReadError(t *testing.T) {
	t.Parallel()
	if _, err := parseBodyStructure(failingReaderAt{}, 100); err == nil {
		t.Fatal("no error from a failing reader")
	}
}

// checkBodySyntax checks an answer is well formed: strings and literals
// complete, parentheses balanced, nothing outside the outer list.
func checkBodySyntax(s string) error {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
				if i < len(s) && (s[i] == '\r' || s[i] == '\n' || s[i] == 0) {
					return fmt.Errorf("CR, LF or NUL in a quoted string at %d", i)
				}
			}
			if i >= len(s) {
				return errors.New("unterminated quoted string")
			}
		case '{':
			end := strings.Index(s[i:], "}\r\n")
			var n int
			if end < 0 {
				return fmt.Errorf("bad literal at %d", i)
			}
			if _, err := fmt.Sscanf(s[i+1:i+end], "%d", &n); err != nil {
				return err
			}
			i += end + 3 + n - 1
			if i >= len(s) {
				return errors.New("short literal")
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return fmt.Errorf("unbalanced ')' at %d", i)
			}
		case '\r', '\n', 0:
			return fmt.Errorf("CR, LF or NUL outside a literal at %d", i)
		}
		if depth == 0 && i != len(s)-1 {
			return fmt.Errorf("data after the outer list at %d: %q", i, s[i:])
		}
	}
	if depth != 0 {
		return fmt.Errorf("%d unclosed '('", depth)
	}
	return nil
}

// maxParenDepth is the deepest nesting of lists outside strings.
func maxParenDepth(s string) int {
	d, m := 0, 0
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"' && (i == 0 || s[i-1] != '\\'):
			in = !in
		case in:
		case s[i] == '(':
			d++
			m = max(m, d)
		case s[i] == ')':
			d--
		}
	}
	return m
}
