package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"yubin/storage"
)

// Directory is what the MDA needs from storage.
type Directory interface {
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
	// Resolve expands an address to its final targets (aliases, plus
	// addressing, catch-all), with loop protection.
	Resolve(ctx context.Context, addr string) ([]storage.Target, error)
	// Deliver writes one message durably into a user's mailbox.
	Deliver(ctx context.Context, user storage.Address, mailbox string, r io.Reader, opts storage.DeliverOptions) (storage.Message, error)
}

// StoreDirectory adapts a *storage.Store to Directory.
type StoreDirectory struct{ *storage.Store }

// Deliver opens the user's account and delivers into mailbox.
func (d StoreDirectory) Deliver(ctx context.Context, user storage.Address, mailbox string, r io.Reader, opts storage.DeliverOptions) (storage.Message, error) {
	acct, err := d.Account(ctx, user)
	if err != nil {
		return storage.Message{}, err
	}
	return acct.Deliver(ctx, mailbox, r, opts)
}

// linkDirectory is an optional Directory method: deliver by hard-linking
// a complete, fsynced file that will not change (storage's DeliverLink).
type linkDirectory interface {
	DeliverLink(ctx context.Context, user storage.Address, mailbox, path string, opts storage.DeliverOptions) (storage.Message, error)
}

// DeliverLink opens the user's account and links path into mailbox.
func (d StoreDirectory) DeliverLink(ctx context.Context, user storage.Address, mailbox, path string, opts storage.DeliverOptions) (storage.Message, error) {
	acct, err := d.Account(ctx, user)
	if err != nil {
		return storage.Message{}, err
	}
	return acct.DeliverLink(ctx, mailbox, path, opts)
}

// MDA is the local delivery agent: it resolves a recipient to mailboxes
// and writes the message into each.
type MDA struct {
	dir Directory
	log *slog.Logger
	// out queues Sieve redirects and vacation replies; unset disables
	// them. Atomic: maild sets it after the queue (and its workers) start.
	out atomic.Pointer[outbound]
	// srs reverses bounces to SRS addresses (SetSRS).
	srs atomic.Pointer[SRS]
}

// SetSRS makes the MDA return mail for a valid SRS0 address of s.Domain
// to the original sender (a bounce of forwarded mail), and refuse a
// forged or expired one with 550 5.1.1.
func (d *MDA) SetSRS(s *SRS) { d.srs.Store(s) }

// NewMDA returns an MDA over dir. A nil logger discards.
func NewMDA(dir Directory, logger *slog.Logger) *MDA {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &MDA{dir: dir, log: logger}
}

// deliveryHeader is what a delivery to user writes before the message.
// RFC 5321 §4.4: the final delivery adds Return-Path; Delivered-To (as
// Postfix and Dovecot write it) lets us detect loops.
func deliveryHeader(from string, user storage.Address) string {
	return fmt.Sprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n", from, user.String())
}

// DeliveryPrefix implements Prefixer: for a message to one recipient
// whose only target is one local user, the header deliverOne will write,
// so the queue can put it into the spool file and the delivery can link
// that file instead of copying it. Resolution may change before the
// delivery (an alias edited meanwhile); deliverOne then copies.
func (d *MDA) DeliveryPrefix(ctx context.Context, env Envelope) string {
	if len(env.To) != 1 {
		return ""
	}
	if _, ok := d.dir.(linkDirectory); !ok {
		return ""
	}
	if s := d.srs.Load(); s != nil && s.IsSRS(env.To[0]) {
		return ""
	}
	targets, err := d.dir.Resolve(ctx, env.To[0])
	if err != nil || len(targets) != 1 || !targets[0].Local {
		return ""
	}
	return deliveryHeader(env.From, targets[0].Address)
}

// Accepts reports whether rcpt's domain is local.
func (d *MDA) Accepts(ctx context.Context, rcpt string) (bool, error) {
	if s := d.srs.Load(); s != nil && s.IsSRS(rcpt) {
		return true, nil // Deliver reverses it
	}
	addr, err := storage.ParseAddress(rcpt)
	if err != nil {
		// Not deliverable anywhere; the local route will refuse it.
		return true, nil
	}
	return d.dir.IsLocalDomain(ctx, addr.Domain)
}

// Deliver implements LocalDeliverer.
func (d *MDA) Deliver(ctx context.Context, m *Spooled, rcpt string) ([]string, error) {
	if s := d.srs.Load(); s != nil && s.IsSRS(rcpt) {
		orig, err := s.Reverse(rcpt)
		if err != nil {
			return nil, Permanentf([3]int{5, 1, 1}, "Invalid or expired SRS address", err)
		}
		d.log.Info("srs bounce", "queue_id", m.ID, "rcpt", rcpt, "to", orig)
		return []string{orig}, nil
	}
	targets, err := d.dir.Resolve(ctx, rcpt)
	switch {
	case errors.Is(err, storage.ErrNoSuchUser), errors.Is(err, storage.ErrNotLocalDomain):
		return nil, Permanentf([3]int{5, 1, 1}, "Mailbox unavailable", err)
	case err != nil:
		return nil, AsError(err)
	}
	loops, junk, err := deliveredToHeaders(m)
	if err != nil {
		return nil, AsError(err)
	}
	var remote []string
	var errs []*Error
	for _, t := range targets {
		target := t.Address.String()
		if !t.Local {
			remote = append(remote, target)
			continue
		}
		if done, err := m.Delivered(ctx, target); err != nil {
			errs = append(errs, AsError(err))
			continue
		} else if done {
			continue
		}
		if loops[target] {
			errs = append(errs, &Error{Code: 554, Enhanced: [3]int{5, 4, 6}, Public: "Mail loop detected", Err: fmt.Errorf("message already has Delivered-To: %s", target)})
			continue
		}
		if err := d.deliverOne(ctx, m, rcpt, t.Address, junk); err != nil {
			errs = append(errs, err)
		}
	}
	// Temporary failures win: the retry skips what was delivered.
	var perm *Error
	for _, e := range errs {
		if e.Temporary {
			return remote, e
		}
		perm = e
	}
	if perm != nil {
		return remote, perm
	}
	return remote, nil
}

func (d *MDA) deliverOne(ctx context.Context, m *Spooled, rcpt string, user storage.Address, junk bool) *Error {
	log := d.log.With("queue_id", m.ID, "rcpt", rcpt, "user", user.String())
	f, err := m.Open()
	if err != nil {
		return AsError(fmt.Errorf("open spool file: %w", err))
	}
	defer f.Close()
	// The user's Sieve script and vacation look at the header only.
	h := readHeader(f, m.Size)
	rules, err := d.sieveFor(ctx, m, rcpt, user, h, log)
	if err != nil {
		return AsError(err)
	}
	hdr := deliveryHeader(m.Envelope.From, user)
	// The spool file may already be exactly this delivery's file (see
	// DeliveryPrefix): then it is linked, not copied. Not for junk: the
	// marker header is stripped on the way into the mailbox.
	var linkPath string
	if _, ok := d.dir.(linkDirectory); ok && !junk {
		path, prefix, err := f.LinkSource()
		if err != nil {
			return AsError(fmt.Errorf("open spool file: %w", err))
		}
		if prefix == hdr {
			linkPath = path
		}
	}
	open := func() (io.Reader, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return stripField(bufio.NewReaderSize(f, 64<<10), JunkHeader), nil
	}

	// Redirects first: if queueing fails, nothing is delivered yet and
	// the retry starts over.
	for _, addr := range rules.Redirects {
		out := d.outbound()
		if out == nil {
			log.Warn("sieve redirect without an outbound queue; keeping the message", "to", addr)
			rules.Keep = true
			continue
		}
		body, err := open()
		if err != nil {
			return AsError(err)
		}
		// The copy keeps the original sender and carries Delivered-To so
		// a redirect loop back to this user is caught.
		fwd := io.MultiReader(strings.NewReader(fmt.Sprintf("Delivered-To: %s\r\n", user.String())), body)
		id, err := out.Enqueue(ctx, Envelope{From: m.Envelope.From, To: []string{addr}}, fwd)
		if err != nil {
			return AsError(fmt.Errorf("sieve redirect to %s: %w", addr, err))
		}
		log.Info("sieve redirect", "to", addr, "redirect_id", id)
	}

	var mailboxes []string
	if rules.Keep {
		if junk {
			// Marked by the inbound checks: to Junk, without the mark.
			mailboxes = append(mailboxes, JunkMailbox)
		} else {
			mailboxes = append(mailboxes, "INBOX")
		}
	}
	mailboxes = append(mailboxes, rules.Mailboxes...)
	opts := storage.DeliverOptions{EnforceQuota: true, Flags: rules.Flags}
	delivered := map[string]bool{}
	type filed struct {
		mailbox string
		msg     storage.Message
	}
	var done []filed
	for _, mailbox := range mailboxes {
		if _, err := storage.ValidMailboxName(mailbox); err != nil {
			// A fileinto target built at run time (variables), or saved
			// before names were checked: INBOX rather than a delivery
			// that fails until the message expires.
			log.Warn("sieve fileinto names an invalid folder; delivering to INBOX", "mailbox", mailbox, "err", err)
			mailbox = "INBOX"
		}
		if delivered[strings.ToLower(mailbox)] {
			continue
		}
		msg, err := d.deliverTo(ctx, user, mailbox, hdr, linkPath, open, opts)
		if errors.Is(err, storage.ErrNotFound) && !strings.EqualFold(mailbox, "INBOX") {
			// The user deleted Junk, or a rule names a missing folder:
			// INBOX rather than nowhere.
			log.Warn("mailbox missing; delivering to INBOX", "mailbox", mailbox)
			mailbox = "INBOX"
			if delivered["inbox"] {
				continue
			}
			msg, err = d.deliverTo(ctx, user, mailbox, hdr, linkPath, open, opts)
		}
		switch {
		case errors.Is(err, storage.ErrQuotaExceeded):
			log.Warn("mailbox over quota", "err", err)
			return &Error{Code: 452, Enhanced: [3]int{4, 2, 2}, Temporary: true, Public: "Mailbox full", Err: err}
		case errors.Is(err, storage.ErrNoSuchUser):
			return Permanentf([3]int{5, 1, 1}, "Mailbox unavailable", err)
		case err != nil:
			return AsError(err)
		}
		delivered[strings.ToLower(mailbox)] = true
		done = append(done, filed{mailbox, msg})
	}
	if len(mailboxes) == 0 {
		log.Info("discarded by sieve script", "redirects", len(rules.Redirects))
	}
	if err := m.MarkDelivered(ctx, user.String()); err != nil {
		// Delivered but not recorded: a retry may deliver it twice,
		// which is better than losing it.
		log.Error("record delivery", "err", err)
	}
	for _, f := range done {
		log.Info("delivered", "mailbox", f.mailbox, "uid", f.msg.UID, "size", f.msg.Size, "flags", strings.Join(opts.Flags, " "))
	}
	if !junk && len(mailboxes) > 0 {
		// No auto-reply to spam or to what the user's rules threw away
		// or sent elsewhere.
		d.vacation(ctx, m, rcpt, user, h, log)
	}
	return nil
}

// deliverTo writes one copy into mailbox: by linking linkPath when set
// (falling back to a copy where links are not possible), else by copying
// hdr and the message.
func (d *MDA) deliverTo(ctx context.Context, user storage.Address, mailbox, hdr, linkPath string, open func() (io.Reader, error), opts storage.DeliverOptions) (storage.Message, error) {
	if linkPath != "" {
		msg, err := d.dir.(linkDirectory).DeliverLink(ctx, user, mailbox, linkPath, opts)
		if !errors.Is(err, storage.ErrNoLink) {
			return msg, err
		}
		d.log.Warn("cannot link the spool file into the mailbox; copying", "user", user.String(), "err", err)
	}
	body, err := open()
	if err != nil {
		return storage.Message{}, err
	}
	return d.dir.Deliver(ctx, user, mailbox, io.MultiReader(strings.NewReader(hdr), body), opts)
}

// maxHeaderScan bounds how much of a message is read looking for
// Delivered-To headers.
const maxHeaderScan = 1 << 20

// deliveredToHeaders returns the addresses in the message's Delivered-To
// header fields (lower-cased), and whether it carries JunkHeader.
func deliveredToHeaders(m *Spooled) (map[string]bool, bool, error) {
	f, err := m.Open()
	if err != nil {
		return nil, false, fmt.Errorf("open spool file: %w", err)
	}
	defer f.Close()
	out := map[string]bool{}
	br := bufio.NewReader(io.LimitReader(f, maxHeaderScan))
	prefix := []byte("delivered-to:")
	junkPrefix := []byte(strings.ToLower(JunkHeader) + ":")
	junk := false
	for {
		line, err := br.ReadSlice('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return out, junk, nil // end of header (or of input)
		}
		if len(line) > len(prefix) && bytes.EqualFold(line[:len(prefix)], prefix) {
			out[strings.ToLower(strings.TrimSpace(string(line[len(prefix):])))] = true
		}
		if len(line) > len(junkPrefix) && bytes.EqualFold(line[:len(junkPrefix)], junkPrefix) {
			junk = true
		}
		if err == bufio.ErrBufferFull {
			// An overlong line: skip its rest.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil {
			return out, junk, nil
		}
	}
}
