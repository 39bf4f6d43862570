package imapd

// Stopgap until the selected-state branch defines it (it owns the
// session's flag announcements): announceFlags makes sure the client has
// been told, with "* FLAGS" (and PERMANENTFLAGS), of every keyword in
// flags before a FETCH shows one (RFC 9051 §7.3.5). Delete this file when
// that lands.
func (s *session) announceFlags(flags []string) {}
