package smtpd

import (
	"context"
	"errors"
	"net/netip"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"yubin/storage"
)

// Authenticator checks a login through the shared throttle;
// *storage.LoginGuard implements it.
type Authenticator interface {
	Login(ctx context.Context, remote netip.Addr, user, password string) (storage.User, error)
}

var _ smtp.AuthSession = (*session)(nil)

// AuthMechanisms implements go-smtp's AuthSession: PLAIN, and LOGIN for
// Outlook and older phones. Nothing is offered without Options.Auth (the
// MX) or before TLS (except on loopback when allowed).
func (s *session) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) authAllowed() bool {
	if s.srv.opts.Auth == nil {
		return false
	}
	return s.state.TLS || (s.srv.opts.PlaintextOnLoopback && s.state.Remote.Addr().IsLoopback())
}

// Auth implements AUTH PLAIN (RFC 4616) and AUTH LOGIN.
func (s *session) Auth(mech string) (sasl.Server, error) {
	s.credit(1) // AUTH belongs to sending mail, like MAIL
	if !s.authAllowed() {
		return nil, &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	}
	if s.state.AuthUser != "" {
		return nil, &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Already authenticated"}
	}
	switch mech {
	case sasl.Plain:
		return s.creditChallenges(sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authorization identity must match the user"}
			}
			return s.login(username, password)
		})), nil
	case sasl.Login:
		return s.creditChallenges(newLoginServer(s.login)), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks credentials and marks the session authenticated. AUTH
// itself is never logged with its payload.
func (s *session) login(username, password string) error {
	u, err := s.srv.opts.Auth.Login(context.Background(), s.state.Remote.Addr(), username, password)
	switch {
	case errors.Is(err, storage.ErrThrottled):
		s.log.Warn("login throttled", "user", username)
		if tooMany := s.countError(); tooMany != nil {
			return tooMany
		}
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed logins, try again later"}
	case errors.Is(err, storage.ErrBusy):
		s.log.Warn("login busy", "user", username)
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many logins in progress, try again later"}
	case errors.Is(err, storage.ErrAuthFailed):
		s.log.Warn("login failed", "user", username)
		if tooMany := s.countError(); tooMany != nil {
			return tooMany
		}
		return smtp.ErrAuthFailed
	case err != nil:
		s.log.Error("login", "user", username, "err", err)
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	}
	s.state.AuthUser = u.Address.String()
	s.log = s.log.With("user", s.state.AuthUser)
	s.log.Info("login")
	return nil
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login):
// it asks for the user name, then the password. go-sasl has no server for
// it, and go-smtp leaves it to backends.
type loginServer struct {
	step     int
	username string
	check    func(username, password string) error
}

func newLoginServer(check func(username, password string) error) *loginServer {
	return &loginServer{check: check}
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(response) > 0 { // initial response carries the user name
			l.username = string(response)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username = string(response)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(response))
	}
	return nil, true, errors.New("unexpected AUTH LOGIN response")
}

// creditChallenges wraps a SASL exchange so its 334 challenges do not
// count as non-mail commands.
func (s *session) creditChallenges(srv sasl.Server) sasl.Server {
	return creditingServer{srv, s}
}

type creditingServer struct {
	sasl.Server
	s *session
}

func (c creditingServer) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := c.Server.Next(response)
	if !done && err == nil {
		c.s.credit(1)
	}
	return challenge, done, err
}
