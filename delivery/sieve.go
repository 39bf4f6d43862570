package delivery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"
	"time"

	"github.com/foxcpp/go-sieve"
	"github.com/foxcpp/go-sieve/interp"

	"yubin/storage"
)

// Enqueuer puts a new message on the outbound queue: the MDA uses it for
// Sieve redirects and vacation replies. *Queue implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, env Envelope, msg io.Reader) (ID, error)
}

// SetOutbound gives the MDA a queue for redirects and vacation replies.
// Without one, redirects are kept in the mailbox instead and no vacation
// reply is sent. It may be called while deliveries run.
func (d *MDA) SetOutbound(q Enqueuer) { d.out.Store(&outbound{q}) }

type outbound struct{ Enqueuer }

// outbound returns the queue SetOutbound gave, or nil.
func (d *MDA) outbound() Enqueuer {
	if o := d.out.Load(); o != nil {
		return o.Enqueuer
	}
	return nil
}

// RulesDirectory is the optional part of a Directory that holds users'
// Sieve scripts and vacation settings (StoreDirectory has it).
type RulesDirectory interface {
	Sieve(ctx context.Context, user string) (string, error)
	Vacation(ctx context.Context, user string) (storage.Vacation, error)
	ClaimVacationReply(ctx context.Context, user, sender string, days int, now time.Time) (bool, error)
}

// sieveOutcome is what a user's script decided.
type sieveOutcome struct {
	Keep      bool     // deliver to the default mailbox (INBOX or Junk)
	Mailboxes []string // fileinto targets
	Flags     []string // IMAP flags for the kept/filed copies
	Redirects []string // addresses to send a copy to
}

// implicitKeep is the outcome without a script, or when the script fails
// (RFC 5228 §2.10.6: errors fall back to keep).
var implicitKeep = sieveOutcome{Keep: true}

// msgHeader is the parsed header of a message, for Sieve tests and the
// vacation checks. Values are unfolded; HeaderGet decodes RFC 2047.
type msgHeader struct {
	h    textproto.MIMEHeader
	size int
}

var wordDecoder = mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	return nil, fmt.Errorf("unsupported charset %q", charset)
}}

// HeaderGet implements interp.Message.
func (m msgHeader) HeaderGet(key string) ([]string, error) {
	vals := m.h.Values(key)
	out := make([]string, len(vals))
	for i, v := range vals {
		if dec, err := wordDecoder.DecodeHeader(v); err == nil {
			v = dec
		}
		out[i] = v
	}
	return out, nil
}

// MessageSize implements interp.Message.
func (m msgHeader) MessageSize() int { return m.size }

// readHeader parses the header of a message (at most maxHeaderScan bytes;
// a malformed header yields what was parsed before the damage).
func readHeader(r io.Reader, size int64) msgHeader {
	tr := textproto.NewReader(bufio.NewReader(io.LimitReader(r, maxHeaderScan)))
	h, _ := tr.ReadMIMEHeader()
	if h == nil {
		h = textproto.MIMEHeader{}
	}
	return msgHeader{h: h, size: int(size)}
}

// allowRedirects lets every redirect through: the count is bounded by
// the interpreter's MaxRedirects.
type allowRedirects struct{}

func (allowRedirects) RedirectAllowed(context.Context, *interp.RuntimeData, string) (bool, error) {
	return true, nil
}

// runSieve loads script and runs it against a message. An error means the
// script did not load or failed while running; the caller keeps the
// message.
func runSieve(ctx context.Context, script string, env interp.Envelope, msg interp.Message) (sieveOutcome, error) {
	s, err := storage.ParseSieve(script)
	if err != nil {
		return implicitKeep, err
	}
	data := sieve.NewRuntimeData(s, allowRedirects{}, env, msg)
	if err := s.Execute(ctx, data); err != nil {
		return implicitKeep, fmt.Errorf("sieve: %w", err)
	}
	out := sieveOutcome{
		Keep:      data.Keep || data.ImplicitKeep,
		Mailboxes: dedupe(data.Mailboxes),
		Redirects: dedupe(data.RedirectAddr),
	}
	for _, f := range data.Flags {
		if f = canonFlag(f); f != "" {
			out.Flags = append(out.Flags, f)
		}
	}
	return out, nil
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if k := strings.ToLower(s); s != "" && !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// canonFlag returns the IMAP spelling of a Sieve flag, or "" for one
// storage cannot keep (unknown system flags, non-atoms).
func canonFlag(f string) string {
	for _, sys := range []string{storage.FlagSeen, storage.FlagAnswered, storage.FlagFlagged, storage.FlagDeleted, storage.FlagDraft} {
		if strings.EqualFold(f, sys) {
			return sys
		}
	}
	if f == "" || strings.HasPrefix(f, `\`) {
		return ""
	}
	for _, r := range f {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
			return ""
		}
	}
	return f
}

// sieveFor runs user's script, if any, on m. Errors loading the script
// are logged and the message is kept.
func (d *MDA) sieveFor(ctx context.Context, m *Spooled, rcpt string, user storage.Address, hdr msgHeader, log interface {
	Warn(string, ...any)
}) (sieveOutcome, error) {
	rd, ok := d.dir.(RulesDirectory)
	if !ok {
		return implicitKeep, nil
	}
	script, err := rd.Sieve(ctx, user.String())
	if errors.Is(err, storage.ErrNotFound) {
		return implicitKeep, nil
	}
	if err != nil {
		return implicitKeep, err // storage trouble: retry later
	}
	env := interp.EnvelopeStatic{From: m.Envelope.From, To: rcpt, Auth: m.Envelope.AuthUser}
	out, err := runSieve(ctx, script, env, hdr)
	if err != nil {
		log.Warn("sieve script failed; keeping the message", "err", err)
		return implicitKeep, nil
	}
	return out, nil
}
