package imapd

import (
	"bytes"
	"testing"
)

// envelopeFuzzSeeds are headers and messages for FuzzEnvelope and
// FuzzBodyStructure, besides the corpus.
var envelopeFuzzSeeds = []string{
	"To: a:b:c;;d@e,,<@x,@y:z@w>,\"q\\\"\"@[1.2]\r\n",
	"From: ((nested) comment) <a@x> (c\r\n",
	"Cc: \"unterminated\r\n",
	"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n----\r\n",
	"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n",
	"Content-Type: a/b; x*0*=''%; x*1=\x80; x*=y; x*00=z; x*9999=w\r\n\r\n",
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b--\r\n--b\r\n",
}

// FuzzEnvelope parses arbitrary bytes as a header and checks the
// envelope is well formed: every address complete, groups balanced, and
// the written form valid IMAP.
func FuzzEnvelope(f *testing.F) {
	for _, c := range envelopeCorpus {
		f.Add(crlf(c.msg))
	}
	for _, s := range envelopeFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, hdr []byte) {
		if len(hdr) > maxFuzzMessage {
			t.Skip()
		}
		e := parseEnvelope(hdr)
		for _, list := range [][]address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
			open := false
			for _, a := range list {
				switch a.Group {
				case groupStart:
					if open {
						t.Fatalf("group inside a group: %+v", list)
					}
					open = true
				case groupEnd:
					if !open {
						t.Fatalf("group end without start: %+v", list)
					}
					open = false
				default:
					if a.Mailbox == "" || a.Host == "" {
						t.Fatalf("address without mailbox or host: %+v", a)
					}
				}
			}
			if open {
				t.Fatalf("group not ended: %+v", list)
			}
		}
		if err := checkBodySyntax(envelopeText(e)); err != nil {
			t.Fatalf("%v: %q", err, envelopeText(e))
		}
	})
}

// FuzzBodyStructure parses arbitrary bytes as a message and checks BODY
// and BODYSTRUCTURE are well formed and every size fits in the message.
func FuzzBodyStructure(f *testing.F) {
	for _, c := range envelopeCorpus {
		f.Add(crlf(c.msg))
	}
	for _, s := range envelopeFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > maxFuzzMessage {
			t.Skip()
		}
		p, err := parseBodyStructure(bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(*bodyPart)
		walk = func(b *bodyPart) {
			if int(b.Size) > len(msg) || b.Lines > b.Size {
				t.Fatalf("part %s/%s: size %d, lines %d in a %d-byte message", b.Type, b.Subtype, b.Size, b.Lines, len(msg))
			}
			if b.Type == "" || b.Subtype == "" || b.Encoding == "" {
				t.Fatalf("part without type or encoding: %+v", b)
			}
			if b.isMessage() && (b.Envelope == nil || b.Message == nil) {
				t.Fatalf("message part without envelope or body: %+v", b)
			}
			for _, c := range b.Parts {
				walk(c)
			}
			if b.Message != nil {
				walk(b.Message)
			}
		}
		walk(p)
		for _, ext := range []bool{false, true} {
			if s := bodyStructureText(p, ext); checkBodySyntax(s) != nil {
				t.Fatalf("%v: %q", checkBodySyntax(s), s)
			}
		}
	})
}
