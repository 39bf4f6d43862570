package imapd

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"yubin/storage"
)

// cmdCapability implements CAPABILITY (RFC 9051 §6.1.1).
func (s *session) cmdCapability(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	s.w.Untagged().Atom("CAPABILITY")
	for _, c := range s.capabilities() {
		s.w.SP().Atom(c)
	}
	s.w.CRLF()
	return nil
}

// cmdNoop implements NOOP and CHECK: the updates go out after it.
func (s *session) cmdNoop(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if s.sel != nil {
		// Files other programs added or removed reach the index, and so
		// the change log, here.
		s.refresh()
	}
	return nil
}

// cmdLogout implements LOGOUT (RFC 9051 §6.1.3).
func (s *session) cmdLogout(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	s.w.Status("", imap.StatusResponseTypeBye, "", "Logging out")
	s.state = stateLogout
	return nil
}

// loginAllowed reports whether a password may be sent on this
// connection: under TLS, or from loopback when configured.
func (s *session) loginAllowed() bool {
	return s.tls || (s.srv.opts.PlaintextOnLoopback && s.remote.IsLoopback())
}

// cmdStartTLS implements STARTTLS (RFC 9051 §6.2.1).
func (s *session) cmdStartTLS(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if s.tls || s.srv.opts.TLS == nil {
		return bad("", "TLS is not available")
	}
	if s.r.Buffered() > 0 {
		// Commands pipelined after STARTTLS would be taken as sent
		// under TLS (CVE-2011-0411): refuse and close.
		s.w.Status(r.tag, imap.StatusResponseTypeBad, "", "Data after STARTTLS")
		s.state = stateLogout
		return errHandled
	}
	s.w.Status(r.tag, imap.StatusResponseTypeOK, "", "Begin TLS negotiation now")
	if err := s.w.Flush(); err != nil {
		return err
	}
	tc := tls.Server(s.conn(), s.srv.opts.TLS)
	if err := tc.Handshake(); err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		return err // an I/O error: the connection ends
	}
	s.tls = true
	s.setConn(tc)
	return errHandled
}

// errHandled tells the loop the handler already wrote its tagged
// response.
var errHandled = errors.New("response already sent")

// cmdLogin implements LOGIN (RFC 9051 §6.2.3).
func (s *session) cmdLogin(r *request) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	user, err := s.r.ReadAString()
	if err != nil {
		return err
	}
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	pass, err := s.r.ReadAString()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	return s.login(user, pass)
}

// cmdAuthenticate implements AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC
// 4959 SASL-IR, RFC 4616).
func (s *session) cmdAuthenticate(r *request) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	mech, err := s.r.ReadAtom()
	if err != nil {
		return err
	}
	var initial string
	hasInitial := false
	if sp, err := s.r.MaybeSP(); err != nil {
		return err
	} else if sp {
		if initial, err = s.r.ReadAtom(); err != nil {
			return err
		}
		hasInitial = true
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if !strings.EqualFold(mech, sasl.Plain) {
		return no(imap.ResponseCodeCannot, "Unsupported mechanism")
	}
	if !s.loginAllowed() {
		return no(imap.ResponseCodePrivacyRequired, "TLS is required to log in")
	}
	if !hasInitial {
		if err := s.w.Continuation(""); err != nil {
			return err
		}
		line, err := s.r.ReadLine()
		if err != nil {
			return err
		}
		initial = line
	}
	if initial == "*" {
		return bad("", "Authentication cancelled") // RFC 9051 §6.2.2
	}
	resp := []byte{}
	if initial != "=" {
		if resp, err = base64.StdEncoding.DecodeString(initial); err != nil {
			return bad("", "Invalid base64")
		}
	}
	var loginErr error
	srv := sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			loginErr = no(imap.ResponseCodeAuthorizationFailed, "Cannot act as another user")
			return loginErr
		}
		loginErr = s.login(username, password)
		return loginErr
	})
	if _, _, err := srv.Next(resp); err != nil {
		if loginErr != nil {
			return loginErr
		}
		return bad("", "Malformed PLAIN response")
	}
	return nil
}

// login checks a password through the shared throttle and opens the
// account.
func (s *session) login(username, password string) error {
	if !s.loginAllowed() {
		return no(imap.ResponseCodePrivacyRequired, "TLS is required to log in")
	}
	u, err := s.srv.opts.Auth.Login(s.ctx(), s.remote, username, password)
	switch {
	case errors.Is(err, storage.ErrThrottled):
		s.log.Warn("login throttled", "user", username)
		return no(imap.ResponseCodeUnavailable, "Too many failed logins, try again later")
	case errors.Is(err, storage.ErrBusy):
		s.log.Warn("login busy", "user", username)
		return no(imap.ResponseCodeUnavailable, "Too many logins in progress, try again later")
	case errors.Is(err, storage.ErrAuthFailed):
		s.log.Warn("login failed", "user", username)
		return no(imap.ResponseCodeAuthenticationFailed, "Authentication failed")
	case err != nil:
		return err
	}
	acct, err := s.srv.opts.Accounts.Account(s.ctx(), u.Address)
	if err != nil {
		return err
	}
	s.acct = acct
	s.user = u.Address
	s.state = stateAuth
	s.log = s.log.With("user", u.Address.String())
	s.log.Info("login")
	// RFC 9051 §6.2.3: the server may send the new capabilities in the
	// tagged OK.
	return ok(imap.ResponseCode("CAPABILITY "+strings.Join(s.capabilities(), " ")), "Logged in")
}

// cmdEnable implements ENABLE (RFC 5161): capabilities that change how
// the server talks are turned on here.
func (s *session) cmdEnable(r *request) error {
	var names []string
	for {
		sp, err := s.r.MaybeSP()
		if err != nil {
			return err
		}
		if !sp {
			break
		}
		name, err := s.r.ReadAtom()
		if err != nil {
			return err
		}
		names = append(names, strings.ToUpper(name))
	}
	if len(names) == 0 {
		return bad("", "ENABLE needs a capability")
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	var done []string
	for _, n := range names {
		if !enableable[n] || s.enabled[n] {
			continue
		}
		if n == "QRESYNC" {
			s.enabled["CONDSTORE"] = true // RFC 7162 §3.2.3
		}
		s.enabled[n] = true
		done = append(done, n)
	}
	s.r.SetUTF8(s.utf8())
	s.w.SetUTF8(s.utf8())
	s.w.Untagged().Atom("ENABLED")
	for _, n := range done {
		s.w.SP().Atom(n)
	}
	s.w.CRLF()
	return nil
}
