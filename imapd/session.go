package imapd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// state is a session's IMAP state (RFC 9051 §3).
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout

	anyState     = stateNotAuth | stateAuth | stateSelected
	authOrSelect = stateAuth | stateSelected
)

// Timeouts. RFC 9051 §5.4: an autologout timer must be at least 30
// minutes once logged in; before login a short one keeps idle
// connections from holding slots.
const (
	preAuthTimeout = time.Minute
	authTimeout    = 30 * time.Minute
	// writeTimeout bounds one write to the client: a client that stops
	// reading does not hold a session (and its mailbox) forever.
	writeTimeout = time.Minute
	// writeBuffer is how much output gathers before it is written without
	// a Flush (FETCH of many messages goes out in 64 KiB writes).
	writeBuffer = 64 << 10
)

// session is one IMAP connection, served by one goroutine (IDLE adds a
// reader goroutine while it lasts). Only that goroutine touches the
// session's fields, except where noted.
type session struct {
	srv    *Server
	log    *slog.Logger
	remote netip.Addr
	id     string

	// nc is the transport (plain, TLS after STARTTLS, deflate after
	// COMPRESS), guarded by ncMu for Server.Close.
	ncMu sync.Mutex
	nc   net.Conn
	tls  bool

	r *wire.Reader
	w *wire.Writer

	state state
	user  storage.Address
	acct  *storage.Account
	sel   *view // the selected mailbox; nil outside the selected state

	// enabled holds the capabilities the client turned on with ENABLE
	// (RFC 5161), upper-cased: IMAP4REV2, CONDSTORE, QRESYNC, UTF8=ACCEPT.
	enabled map[string]bool

	// closing is closed by Server.Close: the session says BYE after the
	// command it is running (an IDLE ends at once).
	closing   chan struct{}
	closeOnce sync.Once
}

func (s *Server) newSession(c net.Conn, implicitTLS bool) *session {
	var id [6]byte
	rand.Read(id[:])
	remote := remoteAddr(c)
	proto := "imap"
	if implicitTLS {
		proto = "imaps"
		c = tls.Server(c, s.opts.TLS)
	}
	sess := &session{
		srv:     s,
		remote:  remote,
		id:      hex.EncodeToString(id[:]),
		tls:     implicitTLS,
		state:   stateNotAuth,
		enabled: map[string]bool{},
		closing: make(chan struct{}),
	}
	sess.log = s.log.With("conn_id", sess.id, "proto", proto, "remote", remote.String())
	sess.setConn(c)
	return sess
}

// setConn puts a new transport under the reader and writer (at the start,
// after STARTTLS and after COMPRESS).
func (s *session) setConn(c net.Conn) {
	s.ncMu.Lock()
	s.nc = c
	s.ncMu.Unlock()
	s.r = wire.NewReader(c, wire.Options{Continue: func() error { return s.w.Continuation("Ready for literal data") }})
	s.w = wire.NewWriterSize(deadlineWriter{c}, writeBuffer)
	s.r.SetUTF8(s.utf8())
	s.w.SetUTF8(s.utf8())
}

func (s *session) conn() net.Conn {
	s.ncMu.Lock()
	defer s.ncMu.Unlock()
	return s.nc
}

// deadlineWriter sets a write deadline before each write.
type deadlineWriter struct{ c net.Conn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.c.Write(p)
}

// shutdown asks the session to say BYE and end (Server.Close). It wakes a
// session blocked reading the next command.
func (s *session) shutdown() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.conn().SetReadDeadline(time.Now())
}

func (s *session) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// ctx is the context of one command.
func (s *session) ctx() context.Context { return context.Background() }

// rev2 reports whether the client enabled IMAP4rev2 (RFC 9051): no
// \Recent, ESEARCH-form SEARCH results, [CLOSED], UTF-8 names.
func (s *session) rev2() bool { return s.enabled["IMAP4REV2"] }

// utf8 reports whether mailbox names and strings travel as UTF-8.
func (s *session) utf8() bool { return s.enabled["IMAP4REV2"] || s.enabled["UTF8=ACCEPT"] }

// serve runs the session until LOGOUT, a fatal error or shutdown.
func (s *session) serve() {
	defer s.finish()
	s.log.Info("connected")
	if s.tls {
		tc := s.conn().(*tls.Conn)
		tc.SetDeadline(time.Now().Add(preAuthTimeout))
		if err := tc.Handshake(); err != nil {
			s.log.Info("TLS handshake failed", "err", err)
			return
		}
	}
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("CAPABILITY "+strings.Join(s.capabilities(), " ")), "Yubin IMAP ready")
	if s.w.Flush() != nil {
		return
	}
	for s.state != stateLogout {
		if s.isClosing() {
			s.bye("Server shutting down")
			return
		}
		timeout := preAuthTimeout
		if s.state != stateNotAuth {
			timeout = authTimeout
		}
		s.conn().SetReadDeadline(time.Now().Add(timeout))
		// Close may have come between the check above and the new
		// deadline, which replaced the one it set to wake the read.
		if s.isClosing() {
			s.bye("Server shutting down")
			return
		}
		if !s.command() {
			return
		}
	}
}

// finish releases what the session holds when it ends.
func (s *session) finish() {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.conn().Close()
	s.log.Info("disconnected")
}

// bye sends an untagged BYE (RFC 9051 §7.1.5).
func (s *session) bye(text string) {
	s.w.Status("", imap.StatusResponseTypeBye, "", text)
	s.w.Flush()
}

// command reads and runs one command. It returns false when the
// connection is to be closed.
func (s *session) command() bool {
	tag, name, err := s.r.ReadCommand()
	if err != nil {
		return s.readError(tag, err)
	}
	if name == "UID" {
		if err := s.r.ReadSP(); err != nil {
			return s.readError(tag, err)
		}
		sub, err := s.r.ReadAtom()
		if err != nil {
			return s.readError(tag, err)
		}
		name = "UID " + strings.ToUpper(sub)
	}
	cmd, ok := commands[name]
	if !ok {
		return s.readError(tag, &wire.SyntaxError{Msg: "Unknown command " + truncate(name)})
	}
	if cmd.states&s.state == 0 {
		return s.readError(tag, &wire.SyntaxError{Msg: name + " is not allowed " + s.stateText()})
	}
	log := s.log.With("tag", tag, "cmd", name)
	err = cmd.run(s, &request{tag: tag, name: name, uid: strings.HasPrefix(name, "UID "), log: log})
	return s.finishCommand(tag, name, cmd, err)
}

// request is one command being run.
type request struct {
	tag, name string
	uid       bool // a UID command
	log       *slog.Logger
}

// finishCommand sends the updates due and the tagged response of a
// command whose handler returned err.
func (s *session) finishCommand(tag, name string, cmd command, err error) bool {
	var se *wire.SyntaxError
	if errors.As(err, &se) {
		return s.readError(tag, err)
	}
	if err == errHandled {
		return s.w.Flush() == nil && s.state != stateLogout
	}
	if isIOError(err) {
		s.log.Info("connection ended", "cmd", name, "err", err)
		return false
	}
	if s.state == stateSelected && s.sel != nil && !cmd.noUpdates {
		if uerr := s.updates(!cmd.noExpunge); uerr != nil {
			if isIOError(uerr) {
				return false
			}
			s.log.Error("updates", "err", uerr)
		}
	}
	if err == nil {
		s.w.Status(tag, imap.StatusResponseTypeOK, "", name+" completed")
	} else {
		s.statusError(tag, name, err)
	}
	if s.w.Flush() != nil {
		return false
	}
	return s.state != stateLogout
}

// statusError writes the tagged NO/BAD (or OK with a code) for err.
func (s *session) statusError(tag, name string, err error) {
	var ie *imap.Error
	if errors.As(err, &ie) {
		text := ie.Text
		if text == "" {
			text = name + " " + strings.ToLower(string(ie.Type))
		}
		s.w.Status(tag, ie.Type, ie.Code, text)
		return
	}
	// Anything else is our fault (RFC 5530 SERVERBUG); the client may
	// try again.
	s.log.Error("command failed", "cmd", name, "err", err)
	s.w.Status(tag, imap.StatusResponseTypeNo, imap.ResponseCodeServerBug, "Internal error, try again later")
}

// readError answers an error from reading a command: BAD for a syntax
// error (after discarding the rest of the command), closing the
// connection for I/O errors and fatal syntax errors.
func (s *session) readError(tag string, err error) bool {
	var se *wire.SyntaxError
	if !errors.As(err, &se) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if s.isClosing() {
				s.bye("Server shutting down")
			} else {
				s.bye("Autologout; idle for too long")
			}
		} else if !errors.Is(err, io.EOF) {
			s.log.Info("connection ended", "err", err)
		}
		return false
	}
	if tag == "" {
		tag = "*"
	}
	if se.Fatal {
		s.w.Status("", imap.StatusResponseTypeBye, imap.ResponseCode(se.Code), se.Msg)
		s.w.Flush()
		return false
	}
	if serr := s.r.Skip(); serr != nil {
		var fatal *wire.SyntaxError
		if errors.As(serr, &fatal) {
			s.w.Status(tag, imap.StatusResponseTypeBad, imap.ResponseCode(se.Code), se.Msg)
			s.w.Status("", imap.StatusResponseTypeBye, imap.ResponseCode(fatal.Code), fatal.Msg)
			s.w.Flush()
		}
		return false
	}
	s.w.Status(tag, imap.StatusResponseTypeBad, imap.ResponseCode(se.Code), se.Msg)
	return s.w.Flush() == nil
}

// isIOError reports whether err is the connection failing (the client
// went away, a deadline passed), not a command's error. Only errors of
// the connection count: a storage error such as ENOSPC (a syscall.Errno,
// which also satisfies net.Error) is the command's, answered with NO.
func isIOError(err error) bool {
	if err == nil {
		return false
	}
	var oe *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &oe)
}

func (s *session) stateText() string {
	switch s.state {
	case stateNotAuth:
		return "before login"
	case stateAuth:
		return "without a selected mailbox"
	default:
		return "in this state"
	}
}

// truncate shortens client text quoted in a response.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Status results. A handler returns nil for "tag OK NAME completed", one
// of these, an *imap.Error of its own, a *wire.SyntaxError (BAD) or any
// other error (NO [SERVERBUG], logged).

func no(code imap.ResponseCode, text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
}

func bad(code imap.ResponseCode, text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeBad, Code: code, Text: text}
}

// ok ends a command with "tag OK [code] text" instead of the default.
func ok(code imap.ResponseCode, text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeOK, Code: code, Text: text}
}

// mailboxError maps storage errors to IMAP responses.
func mailboxError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return no(imap.ResponseCodeNonExistent, "No such mailbox")
	case errors.Is(err, storage.ErrExists):
		return no(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, storage.ErrQuotaExceeded):
		return no(imap.ResponseCodeOverQuota, "Over quota")
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		// The disk is full (as Dovecot answers it): the client may retry
		// once space is free; nothing was stored.
		return no(imap.ResponseCodeOverQuota, "Not enough disk space, try again later")
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	if strings.Contains(err.Error(), "mailbox name") {
		return no(imap.ResponseCodeCannot, err.Error())
	}
	return err
}

// delim is the hierarchy delimiter; storage maps "A/B" to Maildir++ ".A.B".
const delim = '/'
