package imapd

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// sectionFetch is a fetchMessage over msg (written to a file) whose
// output goes to out, as FETCH would send it.
func sectionFetch(t testing.TB, msg []byte, out io.Writer) *fetchMessage {
	t.Helper()
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	size, err := io.Copy(io.Discard, storage.CanonicalReader(bytes.NewReader(msg), false))
	if err != nil {
		t.Fatal(err)
	}
	s := &session{w: wire.NewWriter(out), log: slog.New(slog.DiscardHandler), sel: &view{name: "INBOX"}}
	return &fetchMessage{s: s, m: &storage.Message{UID: 1, Size: size}, f: f}
}

// bigAttachment is a multipart message whose part 2 is a base64
// attachment of about n bytes.
func bigAttachment(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n")
	b.WriteString("--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2", 1) + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	b.WriteString("--b--\r\n")
	return b.Bytes()
}

// TestFetchSectionMemory: BODY[2] of a 50 MiB attachment is streamed
// from the file, not read into memory (go-imap's ExtractBodySection
// allocated 134 MB for it).
func TestFetchSectionMemory(t *testing.T) {
	msg := bigAttachment(50 << 20)
	fm := sectionFetch(t, msg, io.Discard)
	bs := &imap.FetchItemBodySection{Part: []int{2}}
	fm.writeBodySection(bs) // warm up pools
	if err := fm.s.w.Flush(); err != nil {
		t.Fatal(err)
	}
	fm.bs, fm.canon = nil, 0 // measure the parse too
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fm.writeBodySection(bs)
	if err := fm.s.w.Flush(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("BODY[2] of a %d-byte message: %d bytes allocated, %d allocations", len(msg), alloc, after.Mallocs-before.Mallocs)
	if alloc > 2<<20 {
		t.Errorf("BODY[2] allocated %d bytes; want under 2 MiB for a %d-byte part", alloc, len(msg))
	}
}
