package delivery

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
)

// ID names one queued message. It appears in the Received header, in every
// log line about the message (key queue_id) and as the spool file name, so
// it is restricted to [0-9A-Z].
type ID string

// NewID returns a fresh queue ID: 48 bits of time (sortable) and 40 random
// bits, base32 without padding.
func NewID() ID {
	var b [11]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	// The low two bytes of the time word are zero; overwrite them and the
	// rest with randomness.
	rand.Read(b[6:])
	return ID(strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "="))
}

// Valid reports whether id has the shape NewID produces, so that an ID read
// from outside (a spool directory, the control socket) is safe as a file name.
func (id ID) Valid() bool {
	if len(id) < 8 || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Envelope is the SMTP envelope of one message, shared by smtpd,
// submission and the queue.
type Envelope struct {
	// ID is the queue ID; smtpd assigns it before DATA so the Received
	// header and the logs carry it. Enqueue assigns one when empty.
	ID ID
	// From is the reverse path; "" is the null sender (bounces).
	From string
	// To holds the forward paths as accepted at RCPT time.
	To []string
	// AuthUser is the authenticated submitter, "" for inbound mail.
	AuthUser string
	// Remote is the client's address.
	Remote netip.AddrPort
	// Helo is the name the client gave in EHLO/HELO.
	Helo string
	// TLS reports whether the message arrived over TLS.
	TLS bool
	// ReceivedAt is when the message was accepted.
	ReceivedAt time.Time
}
