package pop3d

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"

	"github.com/emersion/go-sasl"

	"yubin/storage"
)

// Response codes (RFC 2449 §8, RFC 3206) used on login failures:
//
//	[AUTH]        bad credentials, or a login attempted without TLS
//	[LOGIN-DELAY] the shared login throttle refuses this client or account
//	              for now (RFC 2449 §8.1.1: not allowed to log in again
//	              until a delay has passed); the password was not checked
//	[IN-USE]      another POP3 session holds the maildrop (RFC 2449 §8.1.2)
//	[SYS/TEMP]    storage or directory failure, or every password-hash
//	              slot busy (storage.ErrBusy); try again later
const (
	respAuthFailed   = "-ERR [AUTH] Authentication failed"
	respNeedTLS      = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections; use STLS or port 995"
	respThrottled    = "-ERR [LOGIN-DELAY] Too many failed logins; try again later"
	respInUse        = "-ERR [IN-USE] Maildrop is locked by another POP3 session"
	respAuthSysError = "-ERR [SYS/TEMP] Authentication temporarily unavailable"
	respMaildropErr  = "-ERR [SYS/TEMP] Cannot open maildrop; try again later"
)

// loginAllowed is the TLS rule for logins (RFC 2595 §2.2, RFC 8314 §3):
// a password is only accepted over TLS, except from a loopback address
// when the operator allows it (the dev mode).
func loginAllowed(isTLS bool, remote netip.Addr, plaintextOnLoopback bool) bool {
	return isTLS || plaintextOnLoopback && remote.IsValid() && remote.Unmap().IsLoopback()
}

func (s *session) loginAllowed() bool {
	return loginAllowed(s.tls, s.remote, s.srv.opts.PlaintextOnLoopback)
}

// handleCapa answers CAPA (RFC 2449 §5). USER and SASL are listed only
// where a login is allowed (RFC 2595 §4), STLS only before TLS.
func (s *session) handleCapa(cmd command) {
	if len(cmd.Args) != 0 {
		s.fail("CAPA takes no arguments")
		return
	}
	s.reply("+OK Capability list follows")
	for _, c := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} {
		s.reply("%s", c)
	}
	if s.state == stateAuthorization {
		if s.loginAllowed() {
			s.reply("USER")
			s.reply("SASL PLAIN")
		}
		if s.srv.opts.TLS != nil && !s.tls {
			s.reply("STLS")
		}
	}
	s.reply("IMPLEMENTATION Yubin")
	s.reply(".")
}

// handleStls starts TLS (RFC 2595 §4).
func (s *session) handleStls(cmd command) {
	switch {
	case len(cmd.Args) != 0:
		s.fail("STLS takes no arguments")
		return
	case s.srv.opts.TLS == nil:
		s.fail("STLS not available")
		return
	case s.tls:
		s.fail("Already using TLS")
		return
	}
	s.reply("+OK Begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		s.closing = true
		return
	}
	if n := s.r.Buffered(); n > 0 {
		// Commands pipelined behind STLS were sent in the clear and may
		// have been injected: drop them (startTLS replaces the reader).
		s.log.Warn("discarding input sent before the TLS handshake", "octets", n)
	}
	if !s.startTLS() {
		s.closing = true
		return
	}
	// RFC 2595 §4: forget anything learned before TLS.
	s.user = ""
}

// handleUser takes the user name (RFC 1939 §7). It answers +OK for any
// name, so that it does not reveal which accounts exist.
func (s *session) handleUser(cmd command) {
	if !s.loginAllowed() {
		s.reply(respNeedTLS)
		return
	}
	if len(cmd.Args) != 1 {
		s.fail("Usage: USER name")
		return
	}
	s.user = cmd.Args[0]
	s.reply("+OK Send your password")
}

// handlePass checks the password for the name given with USER
// (RFC 1939 §7). The whole rest of the line is the password.
func (s *session) handlePass(cmd command) {
	if !s.loginAllowed() {
		s.user = ""
		s.reply(respNeedTLS)
		return
	}
	if s.user == "" {
		s.fail("Send USER first")
		return
	}
	if cmd.Rest == "" {
		s.user = ""
		s.fail("Usage: PASS password")
		return
	}
	user := s.user
	s.user = ""
	s.login(user, cmd.Rest, "USER")
}

// handleAuth runs a SASL exchange (RFC 5034 §4). PLAIN (RFC 4616) is the
// only mechanism. AUTH without arguments lists the mechanisms, as many
// clients expect.
func (s *session) handleAuth(cmd command) {
	if len(cmd.Args) == 0 {
		s.reply("+OK Supported mechanisms follow")
		if s.loginAllowed() {
			s.reply("PLAIN")
		}
		s.reply(".")
		return
	}
	if !s.loginAllowed() {
		s.reply(respNeedTLS)
		return
	}
	if len(cmd.Args) > 2 {
		s.fail("Usage: AUTH mechanism [initial-response]")
		return
	}
	if !strings.EqualFold(cmd.Args[0], sasl.Plain) {
		s.fail("Unsupported authentication mechanism")
		return
	}
	s.user = ""
	var user, password string
	var authzMismatch bool
	srv := sasl.NewPlainServer(func(identity, username, pw string) error {
		user, password = username, pw
		authzMismatch = identity != "" && identity != username
		return nil
	})
	var resp []byte // nil: no initial response yet
	if len(cmd.Args) == 2 {
		var ok bool
		if resp, ok = decodeSASL(cmd.Args[1]); !ok {
			s.fail("Invalid base64 in initial response")
			return
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			s.log.Info("login failed", "mechanism", "PLAIN", "reason", "malformed response")
			s.reply(respAuthFailed)
			return
		}
		if done {
			break
		}
		s.reply("+ %s", base64.StdEncoding.EncodeToString(challenge))
		line, err := s.readLine(saslLineLimit)
		if err != nil {
			s.readFailed(err)
			s.closing = true
			return
		}
		if line == "*" {
			s.reply("-ERR Authentication cancelled")
			return
		}
		var ok bool
		if resp, ok = decodeSASL(line); !ok {
			s.fail("Invalid base64 in response")
			return
		}
	}
	if authzMismatch {
		// Logging in as someone else (a proxy authorisation) is not
		// supported.
		s.log.Info("login failed", "user", user, "mechanism", "PLAIN", "reason", "authorization identity differs")
		s.reply(respAuthFailed)
		return
	}
	s.login(user, password, "PLAIN")
}

// decodeSASL decodes a base64 SASL response; "=" is the empty response
// (RFC 5034 §4). The result is never nil.
func decodeSASL(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	if b == nil {
		b = []byte{}
	}
	return b, true
}

// login checks the password through the shared throttle, takes the
// maildrop lock and opens the maildrop; on success the session enters
// the TRANSACTION state (RFC 1939 §4). On failure it stays in
// AUTHORIZATION and the client may try again.
func (s *session) login(user, password, mech string) {
	u, err := s.srv.opts.Auth.Login(s.ctx, s.remote, user, password)
	switch {
	case errors.Is(err, storage.ErrThrottled):
		s.log.Warn("login failed", "user", user, "mechanism", mech, "reason", "throttled")
		s.reply(respThrottled)
		return
	case errors.Is(err, storage.ErrBusy):
		s.log.Warn("login busy", "user", user, "mechanism", mech)
		s.reply(respAuthSysError)
		return
	case errors.Is(err, storage.ErrAuthFailed):
		s.log.Warn("login failed", "user", user, "mechanism", mech, "reason", "bad credentials")
		s.reply(respAuthFailed)
		return
	case err != nil:
		s.log.Error("login failed", "user", user, "mechanism", mech, "err", err)
		s.reply(respAuthSysError)
		return
	}
	addr := u.Address.String()
	if !s.srv.lockMaildrop(addr) {
		s.log.Info("login failed", "user", addr, "mechanism", mech, "reason", "maildrop in use")
		s.reply(respInUse)
		return
	}
	acct, err := s.srv.opts.Maildrops.Account(s.ctx, u.Address)
	var md *maildrop
	if err == nil {
		md, err = s.srv.openMaildrop(s.ctx, acct)
	}
	if err != nil {
		s.srv.unlockMaildrop(addr)
		s.log.Error("open maildrop", "user", addr, "err", err)
		s.reply(respMaildropErr)
		return
	}
	s.locked, s.drop, s.state = addr, md, stateTransaction
	s.log = s.log.With("user", addr)
	n, size := md.stat()
	s.log.Info("login", "mechanism", mech, "tls", s.tls, "messages", n)
	s.reply("+OK Maildrop has %d messages (%d octets)", n, size)
}
