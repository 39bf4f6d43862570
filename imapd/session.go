package imapd

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// session is one IMAP connection. go-imap calls its methods from the
// connection's goroutine, one command at a time (IDLE aside, which only
// reads the tracker).
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	log    *slog.Logger
	remote netip.Addr

	acct *storage.Account // nil until login
	sel  *view            // nil unless a mailbox is selected
	// selMu guards sel between Close and Idle only: when a connection
	// drops during IDLE, go-imap closes the session without waiting for
	// the goroutine running Idle. Everywhere else the command goroutine
	// owns sel.
	selMu sync.Mutex
	// parked is the mailbox of the last view, kept referenced after
	// UNSELECT/CLOSE (see park); nil if none.
	parked *mailbox
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	remote := remoteAddr(c.NetConn())
	var id [6]byte
	rand.Read(id[:])
	proto := "imap"
	if _, ok := c.NetConn().(*tls.Conn); ok {
		proto = "imaps"
	}
	log := s.log.With("conn_id", hex.EncodeToString(id[:]), "proto", proto, "remote", remote.String())
	sess := &session{srv: s, conn: c, log: log, remote: remote}
	if !s.addSession(sess) {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	log.Info("connected")
	return sess, &imapserver.GreetingData{}, nil
}

// ctx returns the context of one command.
func (s *session) ctx() context.Context { return context.Background() }

func (s *session) Close() error {
	s.srv.removeSession(s)
	s.selMu.Lock()
	sel := s.sel
	s.sel = nil
	s.selMu.Unlock()
	if sel != nil {
		sel.close()
	}
	s.unpark()
	s.log.Info("disconnected")
	return nil
}

// Login implements LOGIN and AUTHENTICATE PLAIN.
func (s *session) Login(username, password string) error {
	if _, isTLS := s.conn.NetConn().(*tls.Conn); !isTLS && !(s.srv.opts.PlaintextOnLoopback && s.remote.IsLoopback()) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired, Text: "TLS is required to log in"}
	}
	u, err := s.srv.opts.Auth.Login(s.ctx(), s.remote, username, password)
	switch {
	case errors.Is(err, storage.ErrThrottled):
		s.log.Warn("login throttled", "user", username)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Too many failed logins, try again later"}
	case errors.Is(err, storage.ErrBusy):
		s.log.Warn("login busy", "user", username)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Too many logins in progress, try again later"}
	case errors.Is(err, storage.ErrAuthFailed):
		s.log.Warn("login failed", "user", username)
		return imapserver.ErrAuthFailed
	case err != nil:
		s.log.Error("login", "user", username, "err", err)
		return serverBug(err)
	}
	acct, err := s.srv.opts.Accounts.Account(s.ctx(), u.Address)
	if err != nil {
		s.log.Error("open account", "user", u.Address.String(), "err", err)
		return serverBug(err)
	}
	s.acct = acct
	s.log = s.log.With("user", u.Address.String())
	s.log.Info("login")
	return nil
}

// AppendLimit implements APPENDLIMIT (RFC 7889).
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// Namespace implements NAMESPACE (RFC 2342): one personal namespace.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}}}, nil
}

// delim is the hierarchy delimiter; storage maps "A/B" to Maildir++ ".A.B".
const delim = '/'

// mailboxError maps storage errors to IMAP responses.
func mailboxError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	case errors.Is(err, storage.ErrExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, storage.ErrQuotaExceeded):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Over quota"}
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	if strings.Contains(err.Error(), "mailbox name") {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: err.Error()}
	}
	return serverBug(err)
}

func serverBug(err error) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Internal error, try again later"}
}
