package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/emersion/go-message/textproto"

	"yubin/delivery"
	"yubin/smtpd/senderauth"
)

// SenderChecker authenticates the sender of an inbound message (SPF, DKIM,
// DMARC); *senderauth.Checker implements it. msg holds the message as
// received and may be read from its start more than once.
type SenderChecker interface {
	Check(ctx context.Context, in senderauth.Input, msg io.ReadSeeker) (senderauth.Verdict, error)
}

var _ MessagePolicy = MXPolicy{}

// senderCheckTimeout bounds the DNS work of one message's checks.
const senderCheckTimeout = 30 * time.Second

// Message runs the sender checks when Sender is set: it spools the
// message to an unlinked temporary file, checks it, refuses it when the
// sender's DMARC policy says so, and returns it with our
// Authentication-Results field first, any field claiming our authserv-id
// removed, and the junk mark (delivery.JunkHeader) when it is to be
// quarantined.
func (p MXPolicy) Message(ctx context.Context, s *State, env *delivery.Envelope, msg io.Reader) (io.ReadCloser, error) {
	if p.Sender == nil {
		return io.NopCloser(msg), nil
	}
	f, err := os.CreateTemp(p.TempDir, "yubin-inbound-")
	if err != nil {
		return nil, delivery.AsError(fmt.Errorf("inbound temp file: %w", err))
	}
	os.Remove(f.Name()) // nothing left behind if the process dies
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if _, err := io.Copy(f, msg); err != nil {
		return nil, err // the client's data error decides the reply
	}
	cctx, cancel := context.WithTimeout(ctx, senderCheckTimeout)
	defer cancel()
	v, err := p.Sender.Check(cctx, senderauth.Input{IP: s.Remote.Addr(), Helo: s.Helo, MailFrom: env.From}, f)
	if err != nil {
		return nil, delivery.AsError(fmt.Errorf("sender checks: %w", err))
	}
	trusted := p.trusted(s.Remote.Addr())
	log := p.logger().With("conn_id", s.ConnID, "queue_id", env.ID)
	log.Info("sender checks", "from", env.From, "header_from", v.FromDomain, "spf", string(v.SPF), "dkim", string(v.DKIM), "dmarc", string(v.DMARC), "action", string(v.Action), "trusted", trusted)
	junk := false
	if !trusted {
		switch v.Action {
		case senderauth.Reject:
			return nil, &delivery.Error{Code: 550, Enhanced: [3]int{5, 7, 1}, Public: v.Reason, Err: fmt.Errorf("dmarc=%s", v.DMARC)}
		case senderauth.Defer:
			return nil, &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 3}, Temporary: true, Public: v.Reason + "; try again later", Err: fmt.Errorf("dmarc=%s", v.DMARC)}
		case senderauth.Junk:
			junk = true
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, delivery.AsError(err)
	}
	var head bytes.Buffer
	head.WriteString(v.Header)
	if junk {
		fmt.Fprintf(&head, "%s: dmarc\r\n", delivery.JunkHeader)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		// Not a header we can rewrite: keep the message as it came.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, delivery.AsError(err)
		}
		br.Reset(f)
	} else {
		for fields := h.FieldsByKey("Authentication-Results"); fields.Next(); {
			if senderauth.IsOurs(fields.Value(), p.Hostname) {
				fields.Del()
			}
		}
		h.Del(delivery.JunkHeader)
		if err := textproto.WriteHeader(&head, h); err != nil {
			return nil, delivery.AsError(err)
		}
	}
	ok = true
	return &spooled{Reader: io.MultiReader(&head, br), f: f}, nil
}

func (p MXPolicy) trusted(ip netip.Addr) bool {
	for _, pr := range p.Trusted {
		if pr.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func (p MXPolicy) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// spooled is a rewritten message backed by an unlinked temporary file.
type spooled struct {
	io.Reader
	f *os.File
}

func (s *spooled) Close() error { return s.f.Close() }
