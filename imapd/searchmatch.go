package imapd

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 text for TEXT/BODY
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"yubin/storage"
)

// searchMessage evaluates criteria against one message, opening its file
// at most once and only when needed.
type searchMessage struct {
	open   func(*storage.Message) (*os.File, error)
	cache  headerCache // the mailbox's header cache; nil for none
	meta   *storage.Message
	seq    uint32
	recent bool // \Recent in this session (not a stored flag)
	f      *os.File
	failed bool
	header *textproto.Header // the whole header, once read
	env    *textproto.Header // the envelope fields, once known
}

func (m *searchMessage) close() {
	if m.f != nil {
		m.f.Close()
	}
}

func (m *searchMessage) file() *os.File {
	if m.f == nil && !m.failed {
		f, err := m.open(m.meta)
		if err != nil {
			m.failed = true
			return nil
		}
		m.f = f
	}
	if m.f != nil {
		m.f.Seek(0, io.SeekStart)
	}
	return m.f
}

func (m *searchMessage) hdr() *textproto.Header {
	if m.header == nil {
		h := textproto.Header{}
		if f := m.file(); f != nil {
			if parsed, err := readHeader(f); err == nil {
				h = parsed
			}
		}
		m.header = &h
	}
	return m.header
}

// envHdr returns the envelope fields, from the mailbox's header cache
// when they are there (and putting them there when not).
func (m *searchMessage) envHdr() *textproto.Header {
	if m.env == nil {
		var c *cachedHeader
		if m.cache != nil {
			c = m.cache.get(m.meta.UID)
		}
		if c == nil {
			c = newCachedHeader(m.hdr())
			if m.cache != nil && !m.failed {
				m.cache.put(m.meta.UID, c)
			}
		}
		m.env = &c.hdr
	}
	return m.env
}

// hdrFor returns a header that holds field key.
func (m *searchMessage) hdrFor(key string) *textproto.Header {
	if isEnvelopeField(key) {
		return m.envHdr()
	}
	return m.hdr()
}

func (m *searchMessage) match(c *imap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if m.seq == 0 || !set.Contains(m.seq) {
			return false
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(m.meta.UID)) {
			return false
		}
	}
	if (!c.Since.IsZero() || !c.Before.IsZero()) && !dateInRange(m.meta.InternalDate, c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !m.hasFlag(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if m.hasFlag(f) {
			return false
		}
	}
	// RFC 7162 §3.1.5: MODSEQ n matches messages changed at or after n.
	if c.ModSeq != nil && m.meta.ModSeq < c.ModSeq.ModSeq {
		return false
	}
	if c.Larger != 0 && m.meta.Size <= c.Larger {
		return false
	}
	if c.Smaller != 0 && m.meta.Size >= c.Smaller {
		return false
	}
	for _, not := range c.Not {
		if m.match(&not) {
			return false
		}
	}
	for _, or := range c.Or {
		if !m.match(&or[0]) && !m.match(&or[1]) {
			return false
		}
	}
	// Criteria that need the file come last, so cheap ones can fail first.
	for _, hc := range c.Header {
		if !headerContains(m.hdrFor(hc.Key), hc.Key, hc.Value) {
			return false
		}
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		t, err := (&mail.Header{Header: gomessage.Header{Header: *m.envHdr()}}).Date()
		if err != nil || t.IsZero() {
			// No usable Date field: the internal date stands in, as
			// RFC 5256 §2.2 has it for SORT DATE and Dovecot does.
			t = m.meta.InternalDate
		}
		if !dateInRange(t, c.SentSince, c.SentBefore) {
			return false
		}
	}
	for _, text := range c.Text {
		if !m.bodyContains(text, true) {
			return false
		}
	}
	for _, text := range c.Body {
		if !m.bodyContains(text, false) {
			return false
		}
	}
	return true
}

// hasFlag reports whether the message has flag f; \Recent is the
// session's, the rest are stored.
func (m *searchMessage) hasFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		return m.recent
	}
	return containsFold(m.meta.Flags, string(f))
}

// dateInRange compares dates only, ignoring time and zone (RFC 3501 §6.4.4).
func dateInRange(t, since, before time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(since) {
		return false
	}
	return before.IsZero() || d.Before(before)
}

func headerContains(h *textproto.Header, key, value string) bool {
	fields := h.FieldsByKey(key)
	if value == "" {
		return fields.Len() > 0
	}
	value = fold(value)
	for fields.Next() {
		if fieldContains(fields.Value(), value) {
			return true
		}
	}
	return false
}

// maxSearchPart bounds how much of one text part is searched.
const maxSearchPart = 16 << 20

func (m *searchMessage) bodyContains(text string, withHeader bool) bool {
	if text == "" {
		return true
	}
	f := m.file()
	if f == nil {
		return false
	}
	r := wireReader(f)
	defer unwire(r)
	e, err := gomessage.Read(r)
	if e == nil {
		return false
	}
	_ = err // unknown charsets still give a readable entity
	return entityContains(e, searchText{fold(text), []byte(strings.ToLower(text))}, withHeader, 0)
}

// searchText is a TEXT or BODY needle: folded for header fields, in lower
// case for bodies.
type searchText struct {
	folded string
	lower  []byte
}

func entityContains(e *gomessage.Entity, needle searchText, withHeader bool, depth int) bool {
	if withHeader {
		for fields := e.Header.Fields(); fields.Next(); {
			if fieldContains(fields.Value(), needle.folded) {
				return true
			}
		}
	}
	if mr := e.MultipartReader(); mr != nil {
		if depth > 20 {
			return false
		}
		for {
			part, err := mr.NextPart()
			if part == nil {
				return false
			}
			_ = err // an unknown encoding or charset still gives a readable part
			if entityContains(part, needle, withHeader, depth+1) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	body, _ := io.ReadAll(io.LimitReader(e.Body, maxSearchPart))
	return bytes.Contains(bytes.ToLower(body), needle.lower)
}
