package thread

import (
	"strings"
	"time"
)

// Message is what SORT and THREAD look at in one message. The caller
// fills it from the index and the envelope fields; only the fields the
// requested criteria or algorithm use need to be set.
type Message struct {
	// Num is what the answer lists: the sequence number for SORT and
	// THREAD, the UID for UID SORT and UID THREAD. Ties are broken by Num
	// (RFC 5256 §3 breaks them by sequence number; UIDs ascend with
	// sequence numbers, so the order is the same). It must not be 0,
	// which Node uses for a dummy.
	Num uint32
	// Arrival is the INTERNALDATE (sort key ARRIVAL, and the sent date
	// of a message whose Date is zero).
	Arrival time.Time
	// Date is the parsed Date header field, zero if it is missing or
	// cannot be parsed: the sent date is then Arrival (RFC 5256 §2.2).
	Date time.Time
	// Size is RFC822.SIZE (sort key SIZE).
	Size int64
	// Subject is the Subject header value, raw (RFC 2047 encoded words
	// are decoded here) or already decoded.
	Subject string
	// From, To and Cc are the addresses of those fields as in an IMAP
	// ENVELOPE, in header order.
	From, To, Cc []Address
	// MessageID is the Message-ID, with or without its angle brackets;
	// empty if the message has none or it is not valid.
	MessageID string
	// InReplyTo and References are the msg-ids of those header fields,
	// in header order (ParseMsgIDs splits a field value).
	InReplyTo  []string
	References []string
}

// Address is one address as an IMAP ENVELOPE gives it (RFC 3501 §7.4.2
// addr-name, addr-mailbox, addr-host). Its fields match go-imap's
// imap.Address, so thread.Address(a) converts one. In group syntax the
// group's start has the group name in Mailbox and an empty Host.
type Address struct {
	Name    string // display name, raw or decoded
	Mailbox string
	Host    string
}

// sentDate is the sent date of RFC 5256 §2.2.
func (m *Message) sentDate() time.Time {
	if m.Date.IsZero() {
		return m.Arrival
	}
	return m.Date
}

// ParseMsgIDs returns the msg-ids of a References or In-Reply-To header
// value (RFC 5322 §3.6.4), normalized as normalizeID does and in order.
// Text outside angle brackets (phrases of obsolete In-Reply-To syntax,
// comments) is skipped; an unterminated "<" ends the list. A quoted
// local part may hold "<" or ">".
func ParseMsgIDs(v string) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return ids
		}
		v = v[i+1:]
		end, restart := idEnd(v)
		switch {
		case restart >= 0: // "<a <b>": the first was not an ID
			v = v[restart:]
			continue
		case end < 0:
			return ids
		}
		if id := normalizeID(v[:end]); id != "" {
			ids = append(ids, id)
		}
		v = v[end+1:]
	}
}

// idEnd finds the ">" that ends the msg-id whose text starts v, skipping
// quoted strings; restart is the index of a "<" that comes first
// (outside quotes), -1 if none.
func idEnd(v string) (end, restart int) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '>':
			return i, -1
		case c == '<':
			return -1, i
		}
	}
	return -1, -1
}

// normalizeID returns a msg-id in the normalized form RFC 5256 §3
// compares (case-sensitively, as octets): without its angle brackets,
// folding white space and quoting, so that <"a.b"@x> and <a.b@x> are
// the same Message ID.
func normalizeID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if !strings.ContainsAny(id, " \t\r\n\"\\") {
		return id
	}
	b := make([]byte, 0, len(id))
	quoted := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\\' && i+1 < len(id):
			i++
			if id[i] != '\r' && id[i] != '\n' {
				b = append(b, id[i])
			}
		case c == '\r' || c == '\n':
		case (c == ' ' || c == '\t') && !quoted:
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
