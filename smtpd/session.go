package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"yubin/delivery"
	"yubin/storage"
)

// session is one SMTP session: go-smtp creates it at EHLO/HELO and again
// after STARTTLS.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	tracked *trackedConn // nil when served without the limit wrapper
	log     *slog.Logger
	state   State

	from    string
	hasFrom bool
	to      []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	st := State{Helo: c.Hostname()}
	netConn := c.Conn()
	if tc, ok := netConn.(*tls.Conn); ok {
		st.TLS = true
		netConn = tc.NetConn()
	}
	log := s.log
	tracked, _ := netConn.(*trackedConn)
	if tracked != nil {
		st.ConnID = tracked.id
		log = tracked.log
		tracked.setTop(c.Conn())
		tracked.multiLine() // the EHLO reply
	}
	if ap, err := netip.ParseAddrPort(netConn.RemoteAddr().String()); err == nil {
		st.Remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	log.Debug("session", "helo", st.Helo, "tls", st.TLS)
	return &session{srv: s, conn: c, log: log, state: st, tracked: tracked}, nil
}

// policyTimeout bounds one policy decision (directory lookups, later DNS).
const policyTimeout = 30 * time.Second

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.credit(1)
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	if err := s.srv.opts.Policy.Mail(ctx, &s.state, from); err != nil {
		return s.reject("mail", err, "from", from)
	}
	s.from, s.hasFrom = from, true
	s.state.MailFrom = from
	s.to = s.to[:0]
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.credit(1)
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	if err := s.srv.opts.Policy.Rcpt(ctx, &s.state, to); err != nil {
		return s.reject("rcpt", err, "from", s.from, "rcpt", to)
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	s.credit(1) // the 354
	env := delivery.Envelope{
		ID:         delivery.NewID(),
		From:       s.from,
		To:         append([]string(nil), s.to...),
		AuthUser:   s.state.AuthUser,
		Remote:     s.state.Remote,
		Helo:       s.state.Helo,
		TLS:        s.state.TLS,
		ReceivedAt: time.Now(),
	}
	var tlsState *tls.ConnectionState
	if cs, ok := s.conn.TLSConnectionState(); ok {
		tlsState = &cs
	}
	// The one stored form (storage/canonical.go), decided here for MX
	// and submission alike, DATA and BDAT: bare LF becomes CRLF, a bare
	// CR refuses the message with 554 5.6.0 (delivery.BareCR).
	// The data guard refuses what go-smtp's reader would have quietly
	// shortened (dataguard.go).
	if s.tracked != nil {
		// BDAT chunks (RFC 3030) have no dots to unstuff; go-smtp hands
		// them over through a pipe.
		if _, bdat := r.(*io.PipeReader); !bdat {
			r = guardedReader{r: r, g: s.tracked.guard}
		}
	}
	body := &errReader{r: storage.CanonicalReader(r, true)}
	// The queue outlives the session: a client that drops after DATA
	// must not interrupt a write that is about to be acknowledged.
	ctx := context.Background()
	var msg io.Reader = body
	if mp, ok := s.srv.opts.Policy.(MessagePolicy); ok {
		rc, err := mp.Message(ctx, &s.state, &env, body)
		if err != nil {
			if body.err != nil {
				return s.dataError(env, body.err)
			}
			return s.reject("data", err, "queue_id", env.ID, "from", s.from)
		}
		defer rc.Close()
		msg = rc
	}
	hdr := receivedHeader(s.srv.opts.Hostname, env, tlsState, s.srv.opts.HideClientIP)
	id, err := s.srv.opts.Queue.Enqueue(ctx, env, io.MultiReader(strings.NewReader(hdr), msg))
	if body.err != nil {
		return s.dataError(env, body.err)
	}
	if err != nil {
		return s.reject("data", err, "queue_id", env.ID, "from", s.from)
	}
	if s.tracked != nil {
		s.tracked.completed()
	}
	s.log.Info("accepted", "queue_id", id, "from", s.from, "rcpts", len(env.To), "tls", env.TLS)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + string(id)}
}

// dataError replies to a failure of the client's data stream (size limit,
// timeout, dropped connection): its own error decides the reply.
func (s *session) dataError(env delivery.Envelope, err error) error {
	if errors.Is(err, storage.ErrBareCR) {
		s.log.Warn("rejected", "queue_id", env.ID, "from", s.from, "reason", "bare CR")
		return SMTPError(delivery.BareCR(err))
	}
	if errors.Is(err, errAmbiguousEnd) {
		s.log.Warn("rejected", "queue_id", env.ID, "from", s.from, "reason", "ambiguous end of data")
		// RFC 5321 §4.1.1.4: only <CR><LF>.<CR><LF> ends data.
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: "Message contains a line of a dot ended by a bare CR or LF; end data only with <CR><LF>.<CR><LF>"}
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		s.log.Warn("rejected", "queue_id", env.ID, "from", s.from, "reason", se.Message)
		return se
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The rest of the message may still arrive and would be read as
		// commands: end the connection (RFC 5321 §4.5.3.2.5 lets a
		// server close after a timeout) instead of leaving it open.
		s.log.Warn("data aborted", "queue_id", env.ID, "reason", "timeout")
		if s.tracked != nil {
			s.tracked.closeAfterWrite.Store(true)
		}
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout reading message data, closing connection"}
	}
	s.log.Warn("data aborted", "queue_id", env.ID, "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Error reading message data"}
}

func (s *session) Reset() {
	s.from, s.hasFrom = "", false
	s.state.MailFrom = ""
	s.to = nil
}

// Logout is called when the connection ends and, after STARTTLS, once the
// TLS layer is in place: the non-mail limit's 421 goes through it from
// then on, even before the next EHLO.
func (s *session) Logout() error {
	if s.tracked != nil {
		s.tracked.setTop(s.conn.Conn())
	}
	return nil
}

// credit hands replies of a mail transaction back to the non-mail count
// (see trackedConn).
func (s *session) credit(n int32) {
	if s.tracked != nil {
		s.tracked.credit(n)
	}
}

// reject logs a refusal and turns it into an SMTP reply.
func (s *session) reject(stage string, err error, attrs ...any) error {
	de := delivery.AsError(err)
	attrs = append(attrs, "stage", stage, "code", de.Code, "err", de.Error())
	if de.Temporary {
		s.log.Warn("rejected", attrs...)
	} else {
		s.log.Info("rejected", attrs...)
	}
	if tooMany := s.countError(); tooMany != nil {
		return tooMany
	}
	return SMTPError(de)
}

// SMTPError maps a delivery.Error onto go-smtp's reply type.
func SMTPError(de *delivery.Error) *smtp.SMTPError {
	return &smtp.SMTPError{
		Code:         de.Code,
		EnhancedCode: smtp.EnhancedCode(de.Enhanced),
		Message:      de.Public,
	}
}

// errReader remembers the first error other than io.EOF of the client's
// data stream, so Data can tell a client failure from a queue failure.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
