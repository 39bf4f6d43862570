package imapd

import (
	"bufio"
	"bytes"
	"io"

	imapwire "yubin/imapd/wire"
)

// ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) is built here from the
// message's raw header bytes, not from a decoded header: the RFC asks
// for the header's text, and decoding loses it.
//
//   - Date, Subject, In-Reply-To and Message-ID are the field's text as
//     sent: unfolded (RFC 5322 §2.2.3: the CRLF of a fold is removed, its
//     white space kept) and trimmed of white space at both ends. The
//     date is not reformatted, encoded words are not decoded, message
//     IDs keep their angle brackets. An absent field is NIL, a field
//     present but empty is "".
//   - Address lists are parsed by parseAddressList (address.go) with RFC
//     5322 §3.4 groups and the §4.4 obsolete forms. Display names are
//     sent as in the header after removing RFC 5322 quoting; encoded
//     words stay encoded; 8-bit text goes out as the Writer decides
//     (a literal unless UTF-8 is on).
//   - Sender and Reply-To, when absent or without any address, are the
//     From list (RFC 9051 §7.5.2).
//   - When a field occurs more than once, the first one counts (Dovecot
//     takes the last; RFC 5322 §3.6 allows one).

const (
	// maxEnvelopeHeader bounds the header bytes readEnvelope reads.
	maxEnvelopeHeader = 1 << 20
	// maxEnvelopeAddresses bounds the addresses (and group starts) one
	// envelope keeps, all lists together; the ones after are left out.
	// "To: a,a,a,..." costs 2 bytes of header per address but some 70
	// bytes of memory: without a bound a header would grow 35-fold.
	maxEnvelopeAddresses = 10_000
)

// nstring is an IMAP nstring: NIL unless Valid.
type nstring struct {
	Value string
	Valid bool
}

// envelope is a message's ENVELOPE.
type envelope struct {
	Date, Subject                      nstring
	From, Sender, ReplyTo, To, Cc, Bcc []address
	InReplyTo, MessageID               nstring
}

// groupMark tells an address from an RFC 5322 group's start or end.
type groupMark uint8

const (
	notGroup   groupMark = iota
	groupStart           // (NIL NIL "name" NIL); the name is in Mailbox
	groupEnd             // (NIL NIL NIL NIL)
)

// address is one element of an address list (RFC 9051 §9 "address"). An
// empty Name or ADL is written as NIL. For an ordinary address Mailbox
// and Host are never empty: a missing part is MISSING_MAILBOX or
// MISSING_DOMAIN (as Dovecot sends), since a NIL host would read as the
// start of a group.
type address struct {
	Name, ADL, Mailbox, Host string
	Group                    groupMark
}

// Placeholders for an address without local part or domain.
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

// parseEnvelope builds the envelope from a message header: the raw
// header bytes, with or without the blank line that ends it (anything
// after a blank line is ignored). It never fails: what cannot be parsed
// is left out or NIL.
func parseEnvelope(header []byte) *envelope {
	budget := maxEnvelopeAddresses
	return parseEnvelopeBudget(header, &budget)
}

// parseEnvelopeBudget is parseEnvelope keeping at most *budget addresses,
// which it decrements: BODYSTRUCTURE shares one budget among the
// envelopes of all its message/rfc822 parts.
func parseEnvelopeBudget(header []byte, budget *int) *envelope {
	e := &envelope{}
	var seen [10]bool
	var sender, replyTo []byte
	var haveSender, haveReplyTo bool
	forEachField(header, func(name string, value []byte) {
		i := envelopeFieldIndex(name)
		if i < 0 || seen[i] {
			return
		}
		seen[i] = true
		switch i {
		case 0:
			e.Date = nstring{unstructured(value), true}
		case 1:
			e.Subject = nstring{unstructured(value), true}
		case 2:
			e.From = parseAddressList(value, budget)
		case 3:
			sender, haveSender = value, true
		case 4:
			replyTo, haveReplyTo = value, true
		case 5:
			e.To = parseAddressList(value, budget)
		case 6:
			e.Cc = parseAddressList(value, budget)
		case 7:
			e.Bcc = parseAddressList(value, budget)
		case 8:
			e.InReplyTo = nstring{unstructured(value), true}
		case 9:
			e.MessageID = nstring{unstructured(value), true}
		}
	})
	// RFC 9051 §7.5.2: Sender and Reply-To absent or empty are From.
	if haveSender {
		e.Sender = parseAddressList(sender, budget)
	}
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if haveReplyTo {
		e.ReplyTo = parseAddressList(replyTo, budget)
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// readEnvelope reads a message's header from r (at most 1 MiB of it;
// the rest of a longer header is not looked at) and parses its envelope.
func readEnvelope(r io.Reader) (*envelope, error) {
	br := bufio.NewReader(io.LimitReader(r, maxEnvelopeHeader))
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			hdr = append(hdr, line...)
			continue
		}
		if isBlankLine(line) && (len(hdr) == 0 || hdr[len(hdr)-1] == '\n') {
			break
		}
		hdr = append(hdr, line...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return parseEnvelope(hdr), nil
}

var envelopeFieldNames = [10]string{"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id"}

func envelopeFieldIndex(name string) int {
	for i, n := range envelopeFieldNames {
		if len(n) == len(name) && equalFoldASCII(n, name) {
			return i
		}
	}
	return -1
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// forEachField calls fn for each field of a header (RFC 5322 §2.2) in
// order, with the raw value after the colon: folds included, the final
// line end excluded. It stops at the first blank line. A line that is
// neither a field nor a continuation ends the field before it and is
// skipped.
func forEachField(header []byte, fn func(name string, value []byte)) {
	var name string
	var start, end int // value of the current field: header[start:end]
	have := false
	flush := func() {
		if have {
			fn(name, header[start:end])
			have = false
		}
	}
	for pos := 0; pos < len(header); {
		eol := bytes.IndexByte(header[pos:], '\n')
		next := len(header)
		lineEnd := len(header)
		if eol >= 0 {
			lineEnd = pos + eol
			next = lineEnd + 1
		}
		content := lineEnd
		if content > pos && header[content-1] == '\r' {
			content--
		}
		line := header[pos:content]
		switch {
		case len(line) == 0:
			flush()
			return
		case line[0] == ' ' || line[0] == '\t':
			if have {
				end = content
			}
		default:
			flush()
			if colon := bytes.IndexByte(line, ':'); colon > 0 {
				name = string(bytes.TrimRight(line[:colon], " \t"))
				start, end, have = pos+colon+1, content, true
			}
		}
		pos = next
	}
	flush()
}

// unstructured returns a field value as text: unfolded, trimmed of white
// space, NUL bytes removed (a string cannot carry them, RFC 9051 §4.3).
func unstructured(v []byte) string {
	out := make([]byte, 0, len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' && c != 0 {
			out = append(out, c)
		}
	}
	return string(bytes.Trim(out, " \t"))
}

// writeEnvelope writes e as an envelope (RFC 9051 §9 "envelope"):
// "(" date SP subject SP from SP sender SP reply-to SP to SP cc SP bcc SP
// in-reply-to SP message-id ")". A nil e is written as all NIL.
func writeEnvelope(w *imapwire.Writer, e *envelope) {
	if e == nil {
		e = &envelope{}
	}
	w.BeginList()
	w.NString(e.Date.Value, e.Date.Valid).SP()
	w.NString(e.Subject.Value, e.Subject.Valid)
	for _, list := range [...][]address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.SP()
		writeAddressList(w, list)
	}
	w.SP().NString(e.InReplyTo.Value, e.InReplyTo.Valid)
	w.SP().NString(e.MessageID.Value, e.MessageID.Valid)
	w.EndList()
}

// writeAddressList writes "(" 1*address ")" or NIL for an empty list.
func writeAddressList(w *imapwire.Writer, list []address) {
	if len(list) == 0 {
		w.NIL()
		return
	}
	w.BeginList()
	for _, a := range list {
		w.BeginList()
		switch a.Group {
		case groupStart:
			// RFC 9051 §7.5.2: NIL host, the group name as mailbox.
			w.NIL().SP().NIL().SP().String(a.Mailbox).SP().NIL()
		case groupEnd:
			w.NIL().SP().NIL().SP().NIL().SP().NIL()
		default:
			w.NString(a.Name, a.Name != "").SP().
				NString(a.ADL, a.ADL != "").SP().
				NString(a.Mailbox, a.Mailbox != "").SP().
				NString(a.Host, a.Host != "")
		}
		w.EndList()
	}
	w.EndList()
}
