package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"time"

	"yubin/storage"
)

// state is a POP3 session state (RFC 1939 §3).
type state uint8

const (
	stateAuthorization state = 1 << iota
	stateTransaction
	stateUpdate
)

func (st state) String() string {
	switch st {
	case stateAuthorization:
		return "authorization"
	case stateTransaction:
		return "transaction"
	default:
		return "update"
	}
}

// handler runs one command in the states it is allowed in.
type handler struct {
	states state
	fn     func(*session, command)
}

// handlers maps keywords to handlers (RFC 1939 §4–§7, RFC 2449 §5,
// RFC 2595 §4, RFC 5034 §4). APOP is not offered: it needs the clear
// password on the server.
var handlers = map[string]handler{
	"CAPA": {stateAuthorization | stateTransaction, (*session).handleCapa},
	"QUIT": {stateAuthorization | stateTransaction, (*session).handleQuit},
	"USER": {stateAuthorization, (*session).handleUser},
	"PASS": {stateAuthorization, (*session).handlePass},
	"AUTH": {stateAuthorization, (*session).handleAuth},
	"STLS": {stateAuthorization, (*session).handleStls},
	"STAT": {stateTransaction, (*session).handleStat},
	"LIST": {stateTransaction, (*session).handleList},
	"RETR": {stateTransaction, (*session).handleRetr},
	"DELE": {stateTransaction, (*session).handleDele},
	"NOOP": {stateTransaction, (*session).handleNoop},
	"RSET": {stateTransaction, (*session).handleRset},
	"TOP":  {stateTransaction, (*session).handleTop},
	"UIDL": {stateTransaction, (*session).handleUidl},
}

// saslLineLimit bounds an AUTH continuation line: RFC 5034 §4 lets
// responses exceed the command line limit.
const saslLineLimit = 8192

var errLineTooLong = errors.New("line too long")

// session is one client connection.
type session struct {
	srv         *Server
	conn        net.Conn // replaced by the TLS connection after STLS
	r           *bufio.Reader
	w           *bufio.Writer
	remote      netip.Addr
	log         *slog.Logger
	ctx         context.Context
	implicitTLS bool
	tls         bool

	state   state
	user    string // from USER, waiting for PASS
	locked  string // the maildrop address this session holds
	drop    *maildrop
	bad     int  // bad commands so far
	closing bool // close after the current reply
}

func (s *Server) newSession(c net.Conn, remote netip.Addr, log *slog.Logger, implicitTLS bool) *session {
	sess := &session{srv: s, conn: c, remote: remote, log: log, ctx: s.ctx, implicitTLS: implicitTLS, state: stateAuthorization}
	sess.w = bufio.NewWriterSize(connWriter{sess}, 16<<10)
	return sess
}

// connWriter writes to the session's current connection, extending the
// write deadline on every write so a slow but moving client is not cut
// off in a long RETR.
type connWriter struct{ s *session }

func (w connWriter) Write(p []byte) (int, error) {
	w.s.conn.SetWriteDeadline(time.Now().Add(w.s.srv.opts.IdleTimeout))
	return w.s.conn.Write(p)
}

// run serves the connection until QUIT, an error or Close.
func (s *session) run() {
	start := time.Now()
	s.log.Info("connected")
	defer func() {
		if s.locked != "" {
			s.srv.unlockMaildrop(s.locked)
		}
		s.log.Info("disconnected", "state", s.state.String(), "duration", time.Since(start).Round(time.Millisecond))
	}()
	defer func() {
		// A safety net: a bug must cost one connection, not the process.
		if r := recover(); r != nil {
			s.log.Error("panic in POP3 session", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	if s.implicitTLS {
		if !s.startTLS() {
			return
		}
	} else {
		s.r = bufio.NewReaderSize(s.conn, 4096)
	}
	// RFC 1939 §4: the greeting. No APOP timestamp: APOP is not offered.
	s.reply("+OK %s Yubin POP3 server ready", s.srv.opts.Hostname)
	for !s.closing {
		line, err := s.readLine(s.srv.opts.MaxLineLength)
		if err != nil {
			s.readFailed(err)
			break
		}
		s.handle(line)
	}
	s.w.Flush()
}

// readFailed answers a failed read where there is someone to answer.
func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errLineTooLong):
		s.log.Warn("line too long", "limit", s.srv.opts.MaxLineLength)
		s.reply("-ERR Line too long; closing connection")
	case errors.As(err, &ne) && ne.Timeout() && s.ctx.Err() == nil:
		// RFC 1939 §3: the autologout timer; nothing is deleted.
		s.log.Info("idle timeout", "timeout", s.srv.opts.IdleTimeout)
		s.reply("-ERR Idle timeout; closing connection")
	case s.ctx.Err() != nil:
		s.reply("-ERR [SYS/TEMP] Server shutting down")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		s.log.Debug("read failed", "err", err)
	}
}

// readLine flushes pending replies when no pipelined input is waiting
// (RFC 2449 §6.6), then reads one line of at most limit octets including
// its line end. LF alone is accepted as a line end.
func (s *session) readLine(limit int) (string, error) {
	if s.r.Buffered() == 0 {
		if err := s.w.Flush(); err != nil {
			return "", err
		}
	}
	s.conn.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout))
	var buf []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(buf)+len(frag) > limit {
			return "", errLineTooLong
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	return string(buf), nil
}

// handle runs one command line.
func (s *session) handle(line string) {
	cmd, err := parseCommand(line)
	switch {
	case errors.Is(err, errEmptyCommand):
		s.fail("Empty command")
		return
	case err != nil:
		s.fail("Invalid command syntax")
		return
	}
	h, ok := handlers[cmd.Name]
	if !ok {
		s.fail("Unknown command")
		return
	}
	if h.states&s.state == 0 {
		s.fail("Command not valid in this state")
		return
	}
	h.fn(s, cmd)
}

// reply writes one response line (buffered; readLine flushes).
func (s *session) reply(format string, args ...any) {
	if len(args) == 0 {
		s.w.WriteString(format)
	} else {
		fmt.Fprintf(s.w, format, args...)
	}
	s.w.WriteString("\r\n")
}

// fail answers a bad command with -ERR and closes the connection once
// the session has sent MaxBadCommands of them.
func (s *session) fail(text string) {
	s.bad++
	if s.bad >= s.srv.opts.MaxBadCommands {
		s.log.Warn("too many bad commands", "count", s.bad)
		s.reply("-ERR Too many invalid commands; closing connection")
		s.closing = true
		return
	}
	s.reply("-ERR %s", text)
}

// startTLS runs the server side of a TLS handshake on the connection and
// replaces the reader, so that nothing sent before the handshake is read
// after it (RFC 2595 §4; the STARTTLS injection problem).
func (s *session) startTLS() bool {
	tc := tls.Server(s.conn, s.srv.opts.TLS)
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		return false
	}
	s.conn = tc
	s.r = bufio.NewReaderSize(tc, 4096)
	s.tls = true
	return true
}

// isNotFound reports whether err means the file or message is gone.
func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, os.ErrNotExist)
}
