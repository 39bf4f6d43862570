package imapd

import (
	"log/slog"
	"slices"

	"github.com/emersion/go-imap/v2"
)

// serverID is what ID tells clients about the server (RFC 2971 §3.3).
// No version: it would tell an attacker which bugs to try.
var serverID = map[string]string{"name": "Yubin", "vendor": "Yubin"}

// cmdID implements ID (RFC 2971): the client's fields are logged (the
// wire reader bounds them to 30 fields of 1024 octets) and the server's
// own are returned.
func (s *session) cmdID(r *request) error {
	params, err := s.r.ReadID()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if params != nil {
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		attrs := make([]any, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, slog.String(k, truncateID(params[k])))
		}
		s.log.Info("client id", slog.Group("id", attrs...))
	}
	s.w.ID(serverID)
	return nil
}

// truncateID shortens a value for the log.
func truncateID(v string) string {
	if len(v) > 128 {
		return v[:128] + "..."
	}
	return v
}

// cmdNamespace implements NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one
// personal namespace with prefix "" and delimiter "/"; no other users'
// or shared namespaces.
func (s *session) cmdNamespace(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	s.w.Namespace(&imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}}})
	return nil
}
