package imapd

import (
	"slices"
	"strings"
	"sync"

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
	hdr textproto.Header
	// raw is the envelope fields as written, in header order, until
	// imapEnvelope parses them into own.
	raw     []byte
	ownOnce sync.Once
	own     *envelope
}

func newCachedHeader(full *textproto.Header) *cachedHeader {
	c := &cachedHeader{}
	for fields := full.Fields(); fields.Next(); {
		if isEnvelopeField(fields.Key()) {
			if raw, err := fields.Raw(); err == nil {
				c.raw = append(c.raw, raw...)
			}
		}
	}
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

// imapEnvelope is the message's ENVELOPE as FETCH sends it
// (envelope.go: the fields' text as written), parsed once. SORT and
// THREAD take their fields from it too (sortthread.go).
func (c *cachedHeader) imapEnvelope() *envelope {
	c.ownOnce.Do(func() {
		c.own = parseEnvelope(c.raw)
		c.raw = nil
	})
	return c.own
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

// openBoxes are the mailboxes some session has selected, with what their
// sessions share: the header cache. An entry goes when the last session
// that selected the mailbox leaves it.
type openBoxes struct {
	mu    sync.Mutex
	boxes map[boxKey]*openBox
}

// openBox is one selected mailbox of one UIDVALIDITY.
type openBox struct {
	key      boxKey
	validity uint32
	refs     int // guarded by openBoxes.mu
	headers  *headerMap
}

func newOpenBoxes() *openBoxes {
	return &openBoxes{boxes: map[boxKey]*openBox{}}
}

// acquire returns the mailbox's shared state, with a reference the caller
// releases. A mailbox deleted and created again (another UIDVALIDITY)
// gets a fresh one; sessions still holding the old keep it to themselves.
func (o *openBoxes) acquire(k boxKey, validity uint32) *openBox {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.boxes[k]
	if b == nil || b.validity != validity {
		b = &openBox{key: k, validity: validity, headers: &headerMap{m: map[uint32]*cachedHeader{}}}
		o.boxes[k] = b
	}
	b.refs++
	return b
}

// release drops one reference; the last one forgets the mailbox and its
// cache.
func (o *openBoxes) release(b *openBox) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b.refs--
	if b.refs == 0 && o.boxes[b.key] == b {
		delete(o.boxes, b.key)
	}
}

// headerMap is the headerCache of one open mailbox, bounded by
// maxCachedHeaders (beyond it, files are read as without a cache).
type headerMap struct {
	mu sync.Mutex
	m  map[uint32]*cachedHeader
}

func (h *headerMap) get(uid uint32) *cachedHeader {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[uid]
}

func (h *headerMap) put(uid uint32, c *cachedHeader) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.m) < maxCachedHeaders {
		h.m[uid] = c
	}
}

// drop forgets expunged messages.
func (h *headerMap) drop(uids []uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range uids {
		delete(h.m, u)
	}
}
