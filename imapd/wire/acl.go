package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Rights of RFC 4314 §2.1 in the order ACL and MYRIGHTS responses use,
// with the obsolete virtual rights c and d (§2.1.1) before a.
const rightsOrder = "lrswipkxtecda"

// ParseRights checks an RFC 4314 rights string (§2.1, §3.1): only the
// letters l r s w i p k x t e a and the obsolete c and d, which are
// expanded to their members (c to k and x, d to e and t: §2.1.1, as in
// the examples of §3.1). Anything else, an upper-case letter or a digit
// (an implementation-defined right Yubin does not have) included, is a
// *SyntaxError: "an unrecognized right MUST cause the command to return
// the BAD response". The result has each right once, in canonical order,
// without c and d.
func ParseRights(s string) (imap.RightSet, error) {
	var have [128]bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 'c':
			have['k'], have['x'] = true, true
		case 'd':
			have['e'], have['t'] = true, true
		case 'l', 'r', 's', 'w', 'i', 'p', 'k', 'x', 't', 'e', 'a':
			have[c] = true
		default:
			if c >= 'A' && c <= 'Z' {
				return nil, syntaxErr("upper-case rights are not allowed")
			}
			if c < 0x21 || c >= 0x7f {
				return nil, syntaxErr("unknown right")
			}
			return nil, syntaxErr("the %q right is not supported", string(rune(c)))
		}
	}
	var rs imap.RightSet
	for i := 0; i < len(rightsOrder); i++ {
		if c := rightsOrder[i]; have[c] && c != 'c' && c != 'd' {
			rs = append(rs, imap.Right(c))
		}
	}
	return rs, nil
}

// RightsString writes rs in canonical order and adds the virtual c when
// k or x is present and d when e or t is (RFC 4314 §2.1.1: a server MUST
// include them in MYRIGHTS and ACL responses for RFC 2086 clients).
func RightsString(rs imap.RightSet) string {
	var have [128]bool
	for _, r := range rs {
		if r < 128 {
			have[r] = true
		}
	}
	have['c'] = have['c'] || have['k'] || have['x']
	have['d'] = have['d'] || have['e'] || have['t']
	var b strings.Builder
	for i := 0; i < len(rightsOrder); i++ {
		if have[rightsOrder[i]] {
			b.WriteByte(rightsOrder[i])
		}
	}
	return b.String()
}

// SetACL is a parsed SETACL command (RFC 4314 §3.1).
type SetACL struct {
	Mailbox    string
	Identifier imap.RightsIdentifier
	// Modification is add ("+"), remove ("-") or replace (no prefix).
	Modification imap.RightModification
	// Rights are checked and expanded by ParseRights; empty with replace
	// removes every right of the identifier.
	Rights imap.RightSet
}

// readIdentifier reads an ACL identifier (RFC 4314 §7: astring). An empty
// one is refused with BAD (§3).
func (r *Reader) readIdentifier() (imap.RightsIdentifier, error) {
	if err := r.ReadSP(); err != nil {
		return "", err
	}
	s, err := r.ReadAString()
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", syntaxErr("empty identifier")
	}
	return imap.RightsIdentifier(s), nil
}

// ReadSetACLArgs reads the arguments of SETACL from the SP after the
// command name up to, not including, the CRLF (RFC 4314 §3.1, §7):
// SP mailbox SP identifier SP mod-rights.
func (r *Reader) ReadSetACLArgs() (*SetACL, error) {
	s := &SetACL{}
	var err error
	if s.Mailbox, err = r.ReadMailboxArg(); err != nil {
		return nil, err
	}
	if s.Identifier, err = r.readIdentifier(); err != nil {
		return nil, err
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	mod, err := r.ReadAString()
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(mod, "+"):
		s.Modification, mod = imap.RightModificationAdd, mod[1:]
	case strings.HasPrefix(mod, "-"):
		s.Modification, mod = imap.RightModificationRemove, mod[1:]
	default:
		s.Modification = imap.RightModificationReplace
	}
	if s.Rights, err = ParseRights(mod); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadDeleteACLArgs reads the arguments of DELETEACL (RFC 4314 §3.2) or
// LISTRIGHTS (§3.4) from the SP after the command name up to, not
// including, the CRLF: SP mailbox SP identifier. GETACL and MYRIGHTS
// take only the mailbox: ReadMailboxArg.
func (r *Reader) ReadDeleteACLArgs() (string, imap.RightsIdentifier, error) {
	mbox, err := r.ReadMailboxArg()
	if err != nil {
		return "", "", err
	}
	id, err := r.readIdentifier()
	if err != nil {
		return "", "", err
	}
	return mbox, id, nil
}

// ReadListRightsArgs reads the arguments of LISTRIGHTS; see
// ReadDeleteACLArgs.
func (r *Reader) ReadListRightsArgs() (string, imap.RightsIdentifier, error) {
	return r.ReadDeleteACLArgs()
}

// ACLEntry is one identifier and its rights in an ACL response.
type ACLEntry struct {
	Identifier imap.RightsIdentifier
	Rights     imap.RightSet
}

// ACL writes the ACL response (RFC 4314 §3.6): the mailbox and zero or
// more identifier-rights pairs, rights as RightsString gives them.
func (w *Writer) ACL(mailbox string, entries []ACLEntry) *Writer {
	w.Untagged().Atom("ACL").SP().Mailbox(mailbox)
	for _, e := range entries {
		w.SP().AString(string(e.Identifier)).SP().AString(RightsString(e.Rights))
	}
	return w.CRLF()
}

// ListRights writes the LISTRIGHTS response (RFC 4314 §3.7): the rights
// always granted, then each group of optional rights that are granted
// together, written as given (the server decides how the virtual c and
// d are tied, §2.1.1). identifier must be the client's form.
func (w *Writer) ListRights(mailbox string, identifier imap.RightsIdentifier, required imap.RightSet, optional []imap.RightSet) *Writer {
	w.Untagged().Atom("LISTRIGHTS").SP().Mailbox(mailbox).SP().AString(string(identifier)).
		SP().AString(string(required))
	for _, o := range optional {
		w.SP().AString(string(o))
	}
	return w.CRLF()
}

// MyRights writes the MYRIGHTS response (RFC 4314 §3.8), rights as
// RightsString gives them.
func (w *Writer) MyRights(mailbox string, rights imap.RightSet) *Writer {
	return w.Untagged().Atom("MYRIGHTS").SP().Mailbox(mailbox).SP().AString(RightsString(rights)).CRLF()
}
