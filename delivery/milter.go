package delivery

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-milter"
)

// Milter runs one milter conversation per message (connect, helo, mail,
// every rcpt, the header fields, the body) and maps the milter's answer:
// accept/continue → Accept, reject → Reject (with the milter's own SMTP
// reply when it gave one, else 550 5.7.1), tempfail → TempFail,
// discard → Reject (Yubin never silently drops mail it acknowledged, so
// a discard is refused with 550 5.7.1 and the sender is told), and
// quarantine → Quarantine (the Junk folder). Header fields the milter
// adds or inserts become the Verdict's AddHeaders; other modifications
// (body replacement, recipient or sender changes, header edits) are not
// negotiated, so the milter is told it may not make them.
type Milter struct {
	// Network and Address locate the milter ("tcp", "127.0.0.1:11332" or
	// "unix", "/run/milter.sock").
	Network, Address string
	// Hostname is our name, sent as the j macro.
	Hostname string
}

var _ Filter = (*Milter)(nil)

// Check implements Filter.
func (m *Milter) Check(ctx context.Context, env *Envelope, msg *io.SectionReader) (Verdict, error) {
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	stop := func() bool { return false }
	dialer := dialerFunc(func(network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			stop = context.AfterFunc(ctx, func() { c.Close() })
		}
		return c, err
	})
	defer func() { stop() }()
	client := milter.NewClientWithOptions(m.Network, m.Address, milter.ClientOptions{
		Dialer:       dialer,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		ActionMask:   milter.OptAddHeader | milter.OptQuarantine,
	})
	fail := func(err error) (Verdict, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Verdict{}, fmt.Errorf("milter %s: %w", m.Address, err)
	}
	s, err := client.Session()
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	if m.Hostname != "" {
		s.Macros(milter.CodeConn, "j", m.Hostname, "{daemon_name}", "yubin")
	}
	if env.AuthUser != "" {
		s.Macros(milter.CodeMail, "{auth_authen}", env.AuthUser, "i", string(env.ID))
	} else {
		s.Macros(milter.CodeMail, "i", string(env.ID))
	}

	steps := []func() (*milter.Action, error){
		func() (*milter.Action, error) {
			if !env.Remote.IsValid() {
				return s.Conn(env.Helo, milter.FamilyUnknown, 0, "")
			}
			a := env.Remote.Addr().Unmap()
			fam := milter.FamilyInet
			if a.Is6() {
				fam = milter.FamilyInet6
			}
			return s.Conn("["+a.String()+"]", fam, env.Remote.Port(), a.String())
		},
		func() (*milter.Action, error) { return s.Helo(env.Helo) },
		func() (*milter.Action, error) { return s.Mail("<"+env.From+">", nil) },
	}
	for _, to := range env.To {
		steps = append(steps, func() (*milter.Action, error) { return s.Rcpt("<"+to+">", nil) })
	}
	br := bufio.NewReader(io.NewSectionReader(msg, 0, msg.Size()))
	hdr, err := textproto.ReadHeader(br)
	if err != nil {
		return fail(fmt.Errorf("read header: %w", err))
	}
	steps = append(steps, func() (*milter.Action, error) { return s.Header(hdr) })
	for _, step := range steps {
		act, err := step()
		if err != nil {
			return fail(err)
		}
		if act.Code == milter.ActAccept {
			return Verdict{Action: Accept, Reason: "accepted by milter"}, nil
		}
		if act.Code != milter.ActContinue {
			return milterVerdict(act, nil), nil
		}
	}
	mods, act, err := s.BodyReadFrom(br)
	if err != nil {
		return fail(err)
	}
	return milterVerdict(act, mods), nil
}

func milterVerdict(act *milter.Action, mods []milter.ModifyAction) Verdict {
	v := Verdict{Action: Accept, Reason: "accepted by milter"}
	for _, mod := range mods {
		switch mod.Code {
		case milter.ActAddHeader, milter.ActInsertHeader:
			v.AddHeaders = append(v.AddHeaders, Field{mod.HeaderName, strings.TrimSpace(mod.HeaderValue)})
		case milter.ActQuarantine:
			v.Action, v.Reason = Quarantine, "quarantined by milter: "+sanitizeReply(string(mod.Reason))
		}
	}
	if act == nil {
		return v
	}
	switch act.Code {
	case milter.ActReject:
		v.Action, v.Code, v.Enhanced, v.Reason = Reject, 550, [3]int{5, 7, 1}, "Message refused by content filter"
	case milter.ActDiscard:
		v.Action, v.Code, v.Enhanced, v.Reason = Reject, 550, [3]int{5, 7, 1}, "Message refused by content filter (discarded)"
	case milter.ActTempFail:
		v.Action, v.Reason = TempFail, "Message deferred by content filter; try again later"
	case milter.ActReplyCode:
		code, enh, text := parseMilterReply(act.SMTPCode, act.SMTPText)
		switch {
		case code >= 500:
			v.Action = Reject
		case code >= 400:
			v.Action = TempFail
		default:
			return v
		}
		v.Code, v.Enhanced, v.Reason = code, enh, text
	}
	return v
}

// parseMilterReply splits a milter's "5.7.1 Spam message rejected" text
// into the enhanced code and the text; a missing or mismatched enhanced
// code becomes x.7.1.
func parseMilterReply(code int, text string) (int, [3]int, string) {
	class := code / 100
	enh := [3]int{class, 7, 1}
	text = strings.TrimSpace(text)
	if first, rest, ok := strings.Cut(text, " "); ok {
		p := strings.Split(first, ".")
		if len(p) == 3 {
			var e [3]int
			good := true
			for i, s := range p {
				n, err := strconv.Atoi(s)
				if err != nil {
					good = false
					break
				}
				e[i] = n
			}
			if good && e[0] == class {
				enh, text = e, strings.TrimSpace(rest)
			}
		}
	}
	if text == "" {
		text = "Message refused by content filter"
	}
	return code, enh, sanitizeReply(text)
}

type dialerFunc func(network, addr string) (net.Conn, error)

func (f dialerFunc) Dial(network, addr string) (net.Conn, error) { return f(network, addr) }
