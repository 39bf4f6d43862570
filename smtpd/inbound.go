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
	"yubin/storage"
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

// Message runs the sender checks when Sender is set and the content
// filters when Filters is set: it spools the message to an unlinked
// temporary file, checks it, refuses it when the sender's DMARC policy or
// a filter says so, and returns it with our Authentication-Results field
// and the filters' fields first, any field claiming our authserv-id (or
// named like a filter's field) removed, and the junk mark
// (delivery.JunkHeader) when it is to be quarantined.
func (p MXPolicy) Message(ctx context.Context, s *State, env *delivery.Envelope, msg io.Reader) (io.ReadCloser, error) {
	if p.Sender == nil && !p.Filters.Applies(delivery.Inbound) {
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
	size, err := io.Copy(f, msg)
	if err != nil {
		return nil, err // the client's data error decides the reply
	}
	var head bytes.Buffer
	junk, junkReason := false, ""
	if p.Sender != nil {
		cctx, cancel := context.WithTimeout(ctx, senderCheckTimeout)
		v, err := p.Sender.Check(cctx, senderauth.Input{IP: s.Remote.Addr(), Helo: s.Helo, MailFrom: env.From}, f)
		cancel()
		if err != nil {
			return nil, delivery.AsError(fmt.Errorf("sender checks: %w", err))
		}
		trusted := p.trusted(s.Remote.Addr())
		log := p.logger().With("conn_id", s.ConnID, "queue_id", env.ID)
		log.Info("sender checks", "from", env.From, "header_from", v.FromDomain, "spf", string(v.SPF), "dkim", string(v.DKIM), "dmarc", string(v.DMARC), "action", string(v.Action), "trusted", trusted)
		if !trusted {
			switch v.Action {
			case senderauth.Reject:
				return nil, &delivery.Error{Code: 550, Enhanced: [3]int{5, 7, 1}, Public: v.Reason, Err: fmt.Errorf("dmarc=%s", v.DMARC)}
			case senderauth.Defer:
				return nil, &delivery.Error{Code: 451, Enhanced: [3]int{4, 4, 3}, Temporary: true, Public: v.Reason + "; try again later", Err: fmt.Errorf("dmarc=%s", v.DMARC)}
			case senderauth.Junk:
				junk, junkReason = true, "dmarc"
			}
		}
		head.WriteString(v.Header)
	}
	// Content filters see the message as received, once for all
	// recipients; they apply to trusted clients too.
	fres, err := p.Filters.Run(ctx, delivery.Inbound, env, io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, err
	}
	if fres.Junk && !junk {
		junk, junkReason = true, fres.JunkReason
	}
	delivery.WriteFields(&head, fres.AddHeaders)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, delivery.AsError(err)
	}
	if junk {
		fmt.Fprintf(&head, "%s: %s\r\n", delivery.JunkHeader, junkReason)
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
		for _, fl := range fres.AddHeaders {
			h.Del(fl.Key)
		}
		if err := textproto.WriteHeader(&head, h); err != nil {
			return nil, delivery.AsError(err)
		}
	}
	ok = true
	return &spooled{Reader: io.MultiReader(&head, br), f: f}, nil
}

// QuotaChecker tells whether a local user's mailbox is already full.
type QuotaChecker interface {
	OverQuota(ctx context.Context, user storage.Address) (bool, error)
}

// checkQuota refuses the recipient with 452 4.2.2 when every local user
// it resolves to is already at or over quota (RFC 5321 §4.5.3.1.10: 452
// asks the client to retry later). A recipient that also reaches someone
// with room, or a remote forward, is accepted; the MDA then defers the
// full mailbox alone. Lookup errors accept: delivery decides.
func (p MXPolicy) checkQuota(ctx context.Context, targets []storage.Target) error {
	if p.Quotas == nil || len(targets) == 0 {
		return nil
	}
	for _, t := range targets {
		if !t.Local {
			return nil
		}
		over, err := p.Quotas.OverQuota(ctx, t.Address)
		if err != nil || !over {
			return nil
		}
	}
	return &delivery.Error{Code: 452, Enhanced: [3]int{4, 2, 2}, Temporary: true, Public: "Mailbox full", Err: fmt.Errorf("%s over quota", targets[0].Address)}
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
