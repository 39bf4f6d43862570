package delivery

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message"
)

// DSN actions (RFC 3464 §2.3.3) the queue reports.
const (
	actionFailed  = "failed"
	actionDelayed = "delayed"
)

// dsnRecipient is one recipient listed in a DSN.
type dsnRecipient struct {
	Addr string
	Err  *Error
	// Expired: temporary failures retried until MaxAge.
	Expired bool
}

// maxDSNHeaders bounds the original header copied into a DSN.
const maxDSNHeaders = 256 << 10

// sendDSN enqueues a delivery status notification about rcpts of m to its
// sender, from the null sender so that it can never bounce in turn. A
// message from the null sender (a bounce itself) gets none: that is only
// logged.
func (q *Queue) sendDSN(ctx context.Context, m *Spooled, action string, rcpts []dsnRecipient) error {
	if m.Envelope.From == "" {
		q.log.Info("no DSN for a message from the null sender", "queue_id", m.ID, "action", action, "rcpts", len(rcpts))
		return nil
	}
	// What this attempt delivered is recorded before the DSN goes out
	// (see Spooled.MarkDelivered).
	if err := m.syncMarks(ctx); err != nil {
		return err
	}
	msg, err := q.buildDSN(m, action, rcpts, time.Now())
	if err != nil {
		return err
	}
	id, err := q.Enqueue(ctx, Envelope{From: "", To: []string{m.Envelope.From}, Helo: q.opts.Hostname}, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	q.log.Info("dsn sent", "queue_id", m.ID, "dsn_queue_id", id, "action", action, "to", m.Envelope.From, "rcpts", len(rcpts))
	return nil
}

// buildDSN writes an RFC 3464 report: multipart/report with a
// human-readable part, the message/delivery-status part and the original
// message's header (text/rfc822-headers).
func (q *Queue) buildDSN(m *Spooled, action string, rcpts []dsnRecipient, now time.Time) ([]byte, error) {
	host := q.opts.Hostname
	var h message.Header
	h.Set("From", "Mail Delivery System <MAILER-DAEMON@"+host+">")
	h.Set("To", "<"+m.Envelope.From+">")
	if action == actionDelayed {
		h.Set("Subject", "Delayed Mail (still being retried)")
	} else {
		h.Set("Subject", "Undelivered Mail Returned to Sender")
	}
	h.Set("Date", now.Format(time.RFC1123Z))
	h.Set("Message-ID", fmt.Sprintf("<%s.dsn@%s>", NewID(), host))
	// RFC 3834 §5: automatic responses must not trigger others.
	h.Set("Auto-Submitted", "auto-replied")
	h.SetContentType("multipart/report", map[string]string{"report-type": "delivery-status"})

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	parts := []struct {
		ctype, desc string
		body        []byte
	}{
		{"text/plain", "Notification", humanReport(host, m, action, rcpts, q.opts.MaxAge)},
		{"message/delivery-status", "Delivery report", deliveryStatus(host, m, action, rcpts, now, q.opts.MaxAge)},
	}
	hdr, err := originalHeader(m)
	if err != nil {
		return nil, err
	}
	parts = append(parts, struct {
		ctype, desc string
		body        []byte
	}{"text/rfc822-headers", "Undelivered Message Headers", hdr})
	for _, p := range parts {
		var ph message.Header
		params := map[string]string{}
		if p.ctype == "text/plain" {
			params["charset"] = "utf-8"
		}
		ph.SetContentType(p.ctype, params)
		ph.Set("Content-Description", p.desc)
		if !isASCII(string(p.body)) {
			ph.Set("Content-Transfer-Encoding", "8bit")
		}
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(p.body); err != nil {
			return nil, err
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func humanReport(host string, m *Spooled, action string, rcpts []dsnRecipient, maxAge time.Duration) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "This is the mail system at host %s.\r\n\r\n", host)
	if action == actionDelayed {
		fmt.Fprintf(&b, "Your message (queue ID %s) could not be delivered yet to the recipients\r\n"+
			"below. It is still being retried until %s; you do not need to\r\n"+
			"resend it.\r\n\r\n", m.ID, m.Envelope.ReceivedAt.Add(maxAge).Format(time.RFC1123Z))
	} else {
		fmt.Fprintf(&b, "Your message (queue ID %s) could not be delivered to the recipients\r\n"+
			"below. This is a permanent error; the message was not delivered to them.\r\n\r\n", m.ID)
	}
	for _, r := range rcpts {
		fmt.Fprintf(&b, "<%s>: ", r.Addr)
		if r.Err.Remote != "" {
			fmt.Fprintf(&b, "host %s said: ", r.Err.Remote)
		}
		fmt.Fprintf(&b, "%s\r\n", diagnostic(r.Err))
		if r.Expired {
			fmt.Fprintf(&b, "    (gave up after retrying for %s)\r\n", maxAge)
		}
	}
	return []byte(b.String())
}

// deliveryStatus is the message/delivery-status body (RFC 3464 §2.2, §2.3).
func deliveryStatus(host string, m *Spooled, action string, rcpts []dsnRecipient, now time.Time, maxAge time.Duration) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", host)
	fmt.Fprintf(&b, "X-Queue-ID: %s\r\n", m.ID)
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", m.Envelope.ReceivedAt.Format(time.RFC1123Z))
	for _, r := range rcpts {
		e := r.Err
		status := e.Enhanced
		switch {
		case r.Expired:
			status = [3]int{4, 4, 7} // RFC 3463: delivery time expired
		case action == actionFailed && status[0] != 5 && status[0] != 4:
			status = [3]int{5, 0, 0}
		case action == actionDelayed && status[0] != 4:
			status = [3]int{4, 0, 0}
		}
		b.WriteString("\r\n")
		fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\n", r.Addr)
		fmt.Fprintf(&b, "Action: %s\r\n", action)
		fmt.Fprintf(&b, "Status: %d.%d.%d\r\n", status[0], status[1], status[2])
		if e.Remote != "" {
			remoteHost, _, _ := strings.Cut(e.Remote, "[")
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\r\n", remoteHost)
		}
		fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", diagnostic(e))
		fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
		if action == actionDelayed {
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", m.Envelope.ReceivedAt.Add(maxAge).Format(time.RFC1123Z))
		}
	}
	return []byte(b.String())
}

// diagnostic is the reply as an SMTP server would say it, on one line.
func diagnostic(e *Error) string {
	text := oneLine(e.Public)
	// RFC 5322 §2.1.1: a line is at most 998 octets; a remote reply can be
	// longer (several reply lines joined). Keep the field on one line.
	if len(text) > maxDiagnostic {
		text = strings.ToValidUTF8(text[:maxDiagnostic], "") + "..."
	}
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], text)
}

// maxDiagnostic bounds the reply text in a Diagnostic-Code field.
const maxDiagnostic = 900

// originalHeader returns the spooled message's header section, up to
// maxDSNHeaders, ending at a line boundary.
func originalHeader(m *Spooled) ([]byte, error) {
	f, err := m.Open()
	if err != nil {
		return nil, fmt.Errorf("open spool file: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, maxDSNHeaders))
	var out bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if err != nil {
			break // a partial last line (over the limit, or no body) is dropped
		}
		out.Write(bytes.TrimRight(line, "\r\n"))
		out.WriteString("\r\n")
	}
	return out.Bytes(), nil
}
