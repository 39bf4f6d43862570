package delivery

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// FuzzDSNHeaders builds DSNs for messages with arbitrary bytes (the
// original header copied into text/rfc822-headers) and an arbitrary
// remote reply text, and checks that the result parses as the
// multipart/report it claims to be.
func FuzzDSNHeaders(f *testing.F) {
	f.Add([]byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"), "user unknown", 550, true)
	f.Add([]byte("Subject: =?utf-8?q?h=C3=A9?=\nX-Long: a\n b\n\nbody"), "mailbox full\r\nsecond line", 452, false)
	f.Add([]byte("no header at all"), "", 0, true)
	f.Add([]byte("\r\n\r\nbody"), "x", 421, false)
	f.Add([]byte("Subject: caf\xc3\xa9\r\nX: \xff\xfe\r\n\r\n"), "caf\xc3\xa9 \xff", 554, true)
	f.Add([]byte("A: b\r\n--boundary\r\n\r\n"), "--boundary", 550, true)
	f.Fuzz(func(t *testing.T, orig []byte, public string, code int, failed bool) {
		dir := t.TempDir()
		q := &Queue{spoolDir: dir, opts: Options{Hostname: "mx.example.net", MaxAge: 5 * 24 * time.Hour}}
		id := NewID()
		if err := os.WriteFile(filepath.Join(dir, string(id)), orig, 0o600); err != nil {
			t.Fatal(err)
		}
		m := &Spooled{ID: id, Size: int64(len(orig)), q: q, Envelope: Envelope{From: "sender@example.org", To: []string{"rcpt@example.com"},
			ReceivedAt: time.Unix(1700000000, 0)}}
		action := actionDelayed
		if failed {
			action = actionFailed
		}
		e := &Error{Code: code, Enhanced: [3]int{code / 100, 1, 1}, Temporary: !failed, Public: public}
		rcpts := []dsnRecipient{{Addr: "rcpt@example.com", Err: e}, {Addr: "other@example.com", Err: &Error{Code: 550, Enhanced: [3]int{5, 1, 1}, Remote: "mx.example.com [192.0.2.1]", Public: public}, Expired: true}}
		out, err := q.buildDSN(m, action, rcpts, time.Unix(1700003600, 0))
		if err != nil {
			t.Fatalf("buildDSN: %v", err)
		}
		wantHdr, err := originalHeader(m)
		if err != nil {
			t.Fatal(err)
		}

		ent, err := message.Read(bytes.NewReader(out))
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			t.Fatalf("DSN does not parse: %v\n%s", err, out)
		}
		if ct, params, _ := ent.Header.ContentType(); ct != "multipart/report" || params["report-type"] != "delivery-status" {
			t.Fatalf("Content-Type %q %v", ct, params)
		}
		mr := ent.MultipartReader()
		if mr == nil {
			t.Fatal("not multipart")
		}
		var types []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v\n%s", len(types), err, out)
			}
			ct, _, _ := p.Header.ContentType()
			types = append(types, ct)
			body, err := io.ReadAll(p.Body)
			if err != nil {
				t.Fatalf("part %s: %v", ct, err)
			}
			switch ct {
			case "message/delivery-status":
				// Per-message fields then one block per recipient, each a
				// header block (RFC 3464 §2.1).
				br := bufio.NewReader(bytes.NewReader(body))
				blocks := 0
				for {
					if _, err := br.Peek(1); err == io.EOF {
						break
					}
					h, err := textproto.ReadHeader(br)
					if err != nil {
						t.Fatalf("delivery-status block %d: %v\n%s", blocks, err, body)
					}
					if blocks > 0 {
						if h.Get("Final-Recipient") == "" || h.Get("Action") != action || h.Get("Status") == "" {
							t.Fatalf("delivery-status block %d: %v\n%s", blocks, h, body)
						}
						if strings.ContainsAny(h.Get("Diagnostic-Code"), "\r\n") {
							t.Fatalf("Diagnostic-Code spans lines: %q", h.Get("Diagnostic-Code"))
						}
					}
					blocks++
				}
				if blocks != 1+len(rcpts) {
					t.Fatalf("delivery-status: %d blocks, want %d\n%s", blocks, 1+len(rcpts), body)
				}
			case "text/rfc822-headers":
				// go-message decodes text parts by charset, which turns
				// invalid UTF-8 into U+FFFD; such headers are sent as they
				// are (8bit), so compare only valid ones.
				if utf8.Valid(wantHdr) && !bytes.Equal(body, wantHdr) {
					t.Fatalf("rfc822-headers part %q, want %q", body, wantHdr)
				}
			}
		}
		if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
			t.Fatalf("parts %v\n%s", types, out)
		}
	})
}
