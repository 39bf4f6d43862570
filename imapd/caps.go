package imapd

import (
	"strconv"
)

// Capabilities. Advertise only what is complete: each name here has its
// commands in the command table and its behaviour tested in the RFC
// suite (cmd/internal/imapconform).

// preAuthCaps are advertised before login (besides STARTTLS, AUTH= and
// LOGINDISABLED, which depend on the connection).
var preAuthCaps = []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"}

// authCaps are advertised after login.
var authCaps = []string{
	"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE",
	"NAMESPACE", "UIDPLUS", "ESEARCH", "SEARCHRES", "LIST-EXTENDED", "LIST-STATUS",
	"MOVE", "STATUS=SIZE", "BINARY", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "UNSELECT",
	"CONDSTORE", "QRESYNC",
	"MULTIAPPEND", "QUOTA", "QUOTA=RES-STORAGE",
	"COMPRESS=DEFLATE",
	"ACL", "RIGHTS=texk", // RFC 4314 §2.2 and formal syntax: the rights beyond RFC 2086 (acl.go)
	"SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "ESORT",
}

// enableable are the capabilities ENABLE turns on (RFC 5161).
var enableable = map[string]bool{"IMAP4REV2": true, "CONDSTORE": true, "QRESYNC": true}

// capabilities lists what this session advertises now.
func (s *session) capabilities() []string {
	if s.state == stateNotAuth {
		caps := append([]string(nil), preAuthCaps...)
		if !s.tls && s.srv.opts.TLS != nil {
			caps = append(caps, "STARTTLS")
		}
		if s.loginAllowed() {
			caps = append(caps, "AUTH=PLAIN")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
		return caps
	}
	caps := append(append([]string(nil), authCaps...), "APPENDLIMIT="+strconv.FormatUint(uint64(s.srv.opts.AppendLimit), 10))
	return caps
}
