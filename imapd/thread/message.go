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
	// sequence numbers, so the order is the same).
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
// value (RFC 5322 §3.6.4), without their angle brackets and in order.
// Text outside angle brackets (phrases of obsolete In-Reply-To syntax,
// comments) is skipped; an unterminated "<" ends the list. White space
// inside an ID (left by folding) is removed.
func ParseMsgIDs(v string) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return ids
		}
		v = v[i+1:]
		j := strings.IndexAny(v, "<>")
		if j < 0 {
			return ids
		}
		if v[j] == '<' { // "<a <b>": the first was not an ID
			v = v[j:]
			continue
		}
		if id := normalizeID(v[:j]); id != "" {
			ids = append(ids, id)
		}
		v = v[j+1:]
	}
}

// normalizeID returns a msg-id without angle brackets and white space,
// so that IDs written differently compare as RFC 5256 §3 means them to:
// case-sensitively, octet by octet.
func normalizeID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if strings.ContainsAny(id, " \t\r\n") {
		id = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, id)
	}
	return id
}
