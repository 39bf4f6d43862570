package delivery

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yubin/storage"
)

// bareLineEnd returns the offset of the first CR not followed by LF or
// LF not preceded by CR in b, or -1.
func bareLineEnd(b []byte) int {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			return i
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return i
		}
	}
	return -1
}

// TestRemoteSendsCanonicalWhateverTheSpool: a spool file with bare CRs
// and LFs (one spooled by an older Yubin) leaves in the one wire form;
// the bare CR that would end the data early at a lax next hop (SMTP
// smuggling) is never sent.
func TestRemoteSendsCanonicalWhateverTheSpool(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	raw := "Subject: legacy\n\nfirst\r.\r\nMAIL FROM:<evil@x.test>\r\nsecond\rthird\n.dot\nlast"
	id := NewID()
	if err := os.WriteFile(filepath.Join(e.dir, "spool", string(id)), []byte(raw), 0o640); err != nil {
		t.Fatal(err)
	}
	m := &Spooled{ID: id, q: e.q, Size: int64(len(raw)), Envelope: Envelope{ID: id, From: "alice@acme.test", To: []string{"bob@remote.test"}}}
	res := e.remote.Deliver(context.Background(), m, "remote.test", []string{"bob@remote.test"})
	if err := res["bob@remote.test"]; err != nil {
		t.Fatal(err)
	}
	msgs := s.messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages", len(msgs))
	}
	got := msgs[0].Data
	if i := bareLineEnd(got); i >= 0 {
		t.Fatalf("the next hop got a bare CR or LF at %d: %q", i, got)
	}
	want := "Subject: legacy\r\n\r\nfirst\r\n.\r\nMAIL FROM:<evil@x.test>\r\nsecond\r\nthird\r\n.dot\r\nlast\r\n"
	if string(got) != want {
		t.Errorf("sent %q\nwant %q", got, want)
	}
}

// TestEnqueueCanonical: whatever a producer hands Enqueue (a DSN, a Sieve
// redirect, an alias forward) is spooled in the one stored form, and
// the size recorded is the spooled size.
func TestEnqueueCanonical(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, nil)
	id, err := e.q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{"bob@remote.test"}},
		strings.NewReader("Subject: x\n\nbare\rcr\nlast"))
	if err != nil {
		t.Fatal(err)
	}
	e.waitSettled(t, id)
	msgs := s.messages()
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Data, []byte("Subject: x\r\n\r\nbare\r\ncr\r\nlast\r\n")) {
		t.Fatalf("sink got %+v", msgs)
	}
}

// TestMDALinksOnlyCanonicalSpool: a spool file from before the one stored
// form (queue.db canonical = 0) that starts with exactly the delivery
// header is copied, and so made canonical, not hard-linked raw into the
// Maildir; a canonical one is linked.
func TestMDALinksOnlyCanonicalSpool(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, oneMX("remote.test"), 1, nil)
	mda := NewMDA(StoreDirectory{e.st}, slog.New(slog.DiscardHandler))
	user, err := storage.ParseAddress("alice@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	hdr := deliveryHeader("bob@remote.test", user)
	for _, canonical := range []bool{false, true} {
		body := "Subject: raw\n\nbare LF\n"
		if canonical {
			body = "Subject: canonical\r\n\r\nCRLF\r\n"
		}
		id := NewID()
		path := filepath.Join(e.dir, "spool", string(id))
		if err := os.WriteFile(path, []byte(hdr+body), 0o640); err != nil {
			t.Fatal(err)
		}
		m := &Spooled{ID: id, q: e.q, Size: int64(len(body)), prefix: int64(len(hdr)), canonical: canonical,
			Envelope: Envelope{ID: id, From: "bob@remote.test", To: []string{"alice@acme.test"}}}
		if _, err := mda.Deliver(context.Background(), m, "alice@acme.test"); err != nil {
			t.Fatal(err)
		}
		spool, _ := os.Stat(path)
		linked := false
		for _, p := range mailFiles(t, e.st, "alice@acme.test") {
			if fi, err := os.Stat(p); err == nil && os.SameFile(fi, spool) {
				linked = true
			}
			if b, _ := os.ReadFile(p); bareLineEnd(b) >= 0 {
				t.Errorf("stored with a bare line end: %q", b)
			}
		}
		if linked != canonical {
			t.Errorf("canonical %v: linked %v", canonical, linked)
		}
	}
}

// mailFiles returns the paths of the messages in user's INBOX.
func mailFiles(t *testing.T, st *storage.Store, user string) []string {
	t.Helper()
	addr, err := storage.ParseAddress(user)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := acct.Messages(context.Background(), storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Path)
	}
	return out
}
