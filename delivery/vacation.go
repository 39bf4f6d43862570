package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"yubin/storage"
)

// vacationSkip returns why a vacation reply must not be sent for a message
// from envelope sender to user (rcpt is the address the mail was sent
// to, an alias of user perhaps), or "" when a reply is allowed (RFC 5230
// §4.5, RFC 3834 §2).
func vacationSkip(sender string, user storage.Address, rcpt string, h msgHeader) string {
	if sender == "" {
		return "null sender"
	}
	from, err := storage.ParseAddress(sender)
	if err != nil {
		return "unparsable sender"
	}
	local := strings.ToLower(from.Local)
	if local == "mailer-daemon" || local == "postmaster" || local == "listserv" || local == "majordomo" ||
		strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request") || strings.HasPrefix(local, "bounce") {
		return "automated sender"
	}
	if strings.EqualFold(from.String(), user.String()) {
		return "own message"
	}
	for key := range h.h {
		if strings.HasPrefix(strings.ToLower(key), "list-") {
			return "mailing list (" + key + ")"
		}
	}
	for _, p := range h.h.Values("Precedence") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "bulk", "list", "junk":
			return "Precedence: " + p
		}
	}
	for _, a := range h.h.Values("Auto-Submitted") {
		v, _, _ := strings.Cut(a, ";")
		if !strings.EqualFold(strings.TrimSpace(v), "no") {
			return "Auto-Submitted: " + a
		}
	}
	if !addressedTo(h, user.String(), rcpt) {
		return "user not in To/Cc"
	}
	return ""
}

// addressedTo reports whether one of addrs appears in the To, Cc or Bcc
// fields.
func addressedTo(h msgHeader, addrs ...string) bool {
	for _, key := range []string{"To", "Cc", "Bcc"} {
		for _, v := range h.h.Values(key) {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				// Unparsable: fall back to a plain search.
				for _, a := range addrs {
					if a != "" && strings.Contains(strings.ToLower(v), strings.ToLower(a)) {
						return true
					}
				}
				continue
			}
			for _, got := range list {
				for _, a := range addrs {
					if a != "" && strings.EqualFold(got.Address, a) {
						return true
					}
				}
			}
		}
	}
	return false
}

// sanitizeField removes line breaks from a header value copied into a
// reply.
func sanitizeField(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// buildVacationReply returns the auto-reply to a message with header h
// (RFC 5230 §5, RFC 3834 §3).
func buildVacationReply(user storage.Address, sender string, v storage.Vacation, h msgHeader, now time.Time) []byte {
	subject := v.Subject
	if subject == "" {
		orig, _ := h.HeaderGet("Subject")
		subject = "Auto: " + sanitizeField(strings.Join(orig, " "))
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\n", user.String())
	fmt.Fprintf(&b, "To: <%s>\r\n", sender)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <vacation.%s@%s>\r\n", hex.EncodeToString(rnd[:]), user.Domain)
	if id := sanitizeField(h.h.Get("Message-Id")); id != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", id)
		refs := sanitizeField(h.h.Get("References"))
		if refs == "" {
			refs = sanitizeField(h.h.Get("In-Reply-To"))
		}
		if refs != "" {
			refs += " "
		}
		fmt.Fprintf(&b, "References: %s%s\r\n", refs, id)
	}
	b.WriteString("Auto-Submitted: auto-replied (vacation)\r\n")
	b.WriteString("Precedence: bulk\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(v.Message, "\r\n", "\n"), "\n", "\r\n")
	qp.Write([]byte(body))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// vacation sends user's out-of-office reply to m's sender when it is on
// and allowed. Failures are logged: the delivery itself has succeeded.
func (d *MDA) vacation(ctx context.Context, m *Spooled, rcpt string, user storage.Address, h msgHeader, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	rd, ok := d.dir.(RulesDirectory)
	out := d.outbound()
	if !ok || out == nil {
		return
	}
	v, err := rd.Vacation(ctx, user.String())
	if err != nil {
		return // off (ErrNotFound) or unreadable
	}
	now := time.Now()
	if !v.Active(now) {
		return
	}
	if why := vacationSkip(m.Envelope.From, user, rcpt, h); why != "" {
		log.Info("no vacation reply", "reason", why, "sender", m.Envelope.From)
		return
	}
	// The delivery is recorded before the reply goes out (see
	// Spooled.MarkDelivered).
	if err := m.syncMarks(ctx); err != nil {
		log.Warn("vacation reply", "err", err)
		return
	}
	ok, err = rd.ClaimVacationReply(ctx, user.String(), m.Envelope.From, v.Days, now)
	if err != nil {
		log.Warn("vacation reply", "err", err)
		return
	}
	if !ok {
		log.Info("no vacation reply", "reason", "already replied", "sender", m.Envelope.From)
		return
	}
	reply := buildVacationReply(user, m.Envelope.From, v, h, now)
	// RFC 5230 §5.1: the reply goes out with the null reverse path.
	id, err := out.Enqueue(ctx, Envelope{From: "", To: []string{m.Envelope.From}}, bytes.NewReader(reply))
	if err != nil {
		log.Warn("vacation reply", "err", err)
		return
	}
	log.Info("vacation reply queued", "sender", m.Envelope.From, "reply_id", id)
}
