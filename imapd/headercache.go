package imapd

import (
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// Clients fetch ENVELOPE for every message they list and search the
// same few fields (SUBJECT, FROM, TO, CC); reading each message file's
// header for that again and again is what made such commands slow. An
// open mailbox therefore keeps, per message, the header fields the
// envelope is built from, filled on first use and dropped with the
// mailbox when no session has it selected. The cache is bounded per
// mailbox; beyond that the files are read as before.

// envelopeFields are the fields ENVELOPE uses (RFC 3501 §7.4.2).
var envelopeFields = []string{"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "In-Reply-To", "Message-Id"}

// maxCachedHeaders bounds the entries one open mailbox keeps (about half
// a kilobyte each).
const maxCachedHeaders = 100_000

// cachedHeader is the envelope fields of one message. It is not changed
// once stored.
type cachedHeader struct {
	hdr  textproto.Header
	once sync.Once
	env  *imap.Envelope
}

func newCachedHeader(full *textproto.Header) *cachedHeader {
	c := &cachedHeader{}
	for _, k := range envelopeFields {
		var values []string
		for fields := full.FieldsByKey(k); fields.Next(); {
			values = append(values, fields.Value())
		}
		// Add puts a value before the others of its key: add in reverse
		// so the first field stays first.
		for _, v := range slices.Backward(values) {
			c.hdr.Add(k, v)
		}
	}
	return c
}

func (c *cachedHeader) envelope() *imap.Envelope {
	c.once.Do(func() { c.env = imapserver.ExtractEnvelope(c.hdr) })
	return c.env
}

// isEnvelopeField reports whether SEARCH HEADER key can use the cache.
func isEnvelopeField(key string) bool {
	return slices.ContainsFunc(envelopeFields, func(f string) bool { return strings.EqualFold(f, key) })
}

// headerCache holds the envelope fields of one mailbox's messages by UID
// (messages never change, so entries never go stale; an expunged
// message's entry may be dropped).
type headerCache interface {
	get(uid uint32) *cachedHeader
	put(uid uint32, c *cachedHeader)
}
