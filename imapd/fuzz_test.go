package imapd

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// maxFuzzMessage bounds a fuzzed message, to keep each run fast.
const maxFuzzMessage = 64 << 10

var fuzzSeeds = []string{
	// Plain, CRLF.
	"From: Alice <alice@example.net>\r\nTo: bob@example.org\r\nSubject: Hello there\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\nMessage-ID: <1@example.net>\r\n\r\nHello, world.\r\n",
	// Bare LF, folded header, encoded word.
	"From: a@example.net\nSubject: =?utf-8?q?caf=C3=A9?= and\n more\nDate: 2 Jan 2006 15:04 +0000\n\nbody line\nworld\n",
	// Multipart with a latin-1 part, base64 and nested message/rfc822.
	"From: a@example.net\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 world\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner hello\r\n--XX--\r\n",
	// Header only, no blank line, no final newline.
	"Subject: no body\r\nFrom: x@example.net",
	// Empty header.
	"\r\nbody without header\r\n",
	"",
	// A header line far longer than bufio's buffer.
	"X-Long: " + strings.Repeat("a", 10000) + "\r\nSubject: after long\r\n\r\nhello\r\n",
	// A long line that ends right at the buffer size, then a blank line.
	"X-Edge: " + strings.Repeat("b", 4096-len("X-Edge: ")-2) + "\r\n\r\nworld\r\n",
	// CR without LF, NUL, 8-bit bytes.
	"Subject: \rodd\x00\xff\r\nDate: garbage\r\n\r\n\xc3\x28 hello\r",
}

// FuzzMessage feeds arbitrary bytes, as a message file, to the header
// reader and the SEARCH matcher. It checks that nothing panics, that the
// header is a prefix of the message as IMAP sends it (CRLF), and that the
// matcher agrees with the header it parsed.
func FuzzMessage(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "hello")
	}
	dir := f.TempDir()
	since := time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, msg []byte, needle string) {
		if len(msg) > maxFuzzMessage || len(needle) > 64 {
			t.Skip()
		}
		tmp, err := os.CreateTemp(dir, "msg")
		if err != nil {
			t.Fatal(err)
		}
		path := tmp.Name()
		defer os.Remove(path)
		defer tmp.Close()
		if _, err := tmp.Write(msg); err != nil {
			t.Fatal(err)
		}
		wireMsg, err := io.ReadAll(storage.CanonicalReader(bytes.NewReader(msg), false))
		if err != nil {
			t.Fatal(err)
		}

		hdr, err := headerBytes(tmp)
		if err != nil {
			t.Fatalf("headerBytes: %v", err)
		}
		if !bytes.HasPrefix(wireMsg, hdr) {
			t.Fatalf("header %q is not a prefix of the message %q", hdr, wireMsg)
		}
		if len(hdr) < len(wireMsg) && !bytes.HasSuffix(hdr, []byte("\n")) {
			t.Fatalf("header %q stops mid-line in %q", hdr, wireMsg)
		}
		h, herr := readHeader(tmp)

		open := func(*storage.Message) (*os.File, error) { return os.Open(filepath.Clean(path)) }
		m := &searchMessage{meta: &storage.Message{UID: 1, Size: int64(len(wireMsg))}, seq: 1, open: open}
		defer m.close()
		criteria := []*imap.SearchCriteria{
			{Body: []string{needle}},
			{Text: []string{needle, "world"}},
			{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: needle}, {Key: "From"}}},
			{SentSince: since},
			{SentBefore: since.AddDate(10, 0, 0), Body: []string{"hello"}},
			{Not: []imap.SearchCriteria{{Text: []string{needle}}}},
			{Or: [][2]imap.SearchCriteria{{{Header: []imap.SearchCriteriaHeaderField{{Key: "To", Value: needle}}}, {Body: []string{needle}}}}},
		}
		for _, c := range criteria {
			m.match(c)
		}
		// After the body reads above, the header comes from the start of
		// the file again: a field readHeader found matches its own value.
		if herr == nil {
			if v := h.Get("Subject"); v != "" {
				c := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: v}}}
				if !m.match(c) {
					t.Fatalf("SEARCH HEADER Subject %q does not match its own message", v)
				}
			}
		}
		// A fresh matcher whose first read is the body agrees with itself.
		m2 := &searchMessage{meta: m.meta, seq: 1, open: open}
		defer m2.close()
		if a, b := m2.match(&imap.SearchCriteria{Text: []string{needle}}), m.match(&imap.SearchCriteria{Text: []string{needle}}); a != b {
			t.Fatalf("TEXT %q: fresh matcher %v, reused matcher %v", needle, a, b)
		}
	})
}

// FuzzFetchBody feeds arbitrary bytes, as a message file, to the FETCH
// body items: every section kind of the top level and of a part path
// chosen by the fuzzer, BINARY, BINARY.SIZE, BODY and BODYSTRUCTURE. It
// checks that nothing panics and that BODY[HEADER] followed by BODY[TEXT]
// is BODY[], the message as IMAP sends it.
func FuzzFetchBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(1), uint8(2))
	}
	f.Add([]byte(fetchMultipart), uint8(4), uint8(1))
	f.Add([]byte(fetchMultipart), uint8(2), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, msg []byte, p1, p2 uint8) {
		if len(msg) > maxFuzzMessage {
			t.Skip()
		}
		path := filepath.Join(dir, "msg")
		if err := os.WriteFile(path, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		wireMsg, err := io.ReadAll(storage.CanonicalReader(bytes.NewReader(msg), false))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		s := &session{w: wire.NewWriter(&out), log: slog.New(slog.DiscardHandler), sel: &view{name: "INBOX"}}
		fm := &fetchMessage{s: s, m: &storage.Message{UID: 1, Size: int64(len(wireMsg))}, f: file}
		section := func(bs *imap.FetchItemBodySection) string {
			out.Reset()
			fm.writeBodySection(bs)
			if err := s.w.Flush(); err != nil {
				t.Fatal(err)
			}
			return out.String()
		}
		whole := section(&imap.FetchItemBodySection{})
		if want := fmt.Sprintf("BODY[] {%d}\r\n%s", len(wireMsg), wireMsg); whole != want {
			t.Fatalf("BODY[] = %q, want %q", whole, want)
		}
		hdr := strings.TrimPrefix(section(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader}), "BODY[HEADER] ")
		text := strings.TrimPrefix(section(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}), "BODY[TEXT] ")
		if got := literalData(t, hdr) + literalData(t, text); got != string(wireMsg) {
			t.Fatalf("HEADER + TEXT = %q, want %q", got, wireMsg)
		}
		parts := [][]int{{int(p1%5) + 1}, {int(p1%5) + 1, int(p2%3) + 1}}
		for _, part := range parts {
			for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME} {
				section(&imap.FetchItemBodySection{Part: part, Specifier: spec, Partial: &imap.SectionPartial{Offset: int64(p2), Size: 10}})
			}
			section(&imap.FetchItemBodySection{Part: part, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}})
			if b, err := fm.decodePart(part); err == nil {
				fm.writeBinary(&imap.FetchItemBinarySection{Part: part}, b)
				if err := s.w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		root, err := fm.bodyStructure()
		if err != nil {
			t.Fatal(err)
		}
		// Every part: BODY[part] is as long as BODYSTRUCTURE says, and
		// a message/rfc822 part's HEADER + TEXT is its BODY[part].
		var paths [][]int
		partPaths(root, nil, &paths, 50)
		for _, path := range paths {
			p := findPart(root, path)
			if p == nil {
				t.Fatalf("part %v listed but not found", path)
			}
			whole := section(&imap.FetchItemBodySection{Part: path})
			body := literalData(t, whole[strings.Index(whole, "] ")+2:])
			if !p.isMultipart() && int64(len(body)) != int64(p.Size) {
				t.Fatalf("BODY[%v] has %d bytes, BODYSTRUCTURE says %d", path, len(body), p.Size)
			}
			if p.inner {
				h := section(&imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierHeader})
				x := section(&imap.FetchItemBodySection{Part: path, Specifier: imap.PartSpecifierText})
				h, x = h[strings.Index(h, "] ")+2:], x[strings.Index(x, "] ")+2:]
				if got := literalData(t, h) + literalData(t, x); got != body {
					t.Fatalf("BODY[%v.HEADER] + BODY[%v.TEXT] = %q, want BODY[%v] %q", path, path, got, path, body)
				}
			}
		}
		if _, err := fm.f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
	})
}

// partPaths appends to out the numbers of the parts inside b, whose
// own number is path (nil for the message), at most limit in all.
func partPaths(b *bodyPart, path []int, out *[][]int, limit int) {
	container := b // what the next level numbers the parts of
	if len(path) > 0 {
		switch {
		case b.inner:
			container = b.Message
		case !b.isMultipart():
			return
		}
	}
	if !container.isMultipart() {
		// A message's body that is not multipart is its part 1.
		if len(*out) < limit {
			p := append(slices.Clone(path), 1)
			*out = append(*out, p)
			if container.inner {
				partPaths(container, p, out, limit)
			}
		}
		return
	}
	for i, c := range container.Parts {
		if len(*out) >= limit {
			return
		}
		p := append(slices.Clone(path), i+1)
		*out = append(*out, p)
		partPaths(c, p, out, limit)
	}
}

// literalData returns the data of a response "{n}\r\n" data, checking n.
func literalData(t *testing.T, s string) string {
	t.Helper()
	i := strings.Index(s, "}\r\n")
	if !strings.HasPrefix(s, "{") || i < 0 {
		t.Fatalf("not a literal: %q", s)
	}
	n, err := strconv.Atoi(s[1:i])
	data := s[i+3:]
	if err != nil || n != len(data) {
		t.Fatalf("literal announces %s bytes, has %d", s[1:i], len(data))
	}
	return data
}
