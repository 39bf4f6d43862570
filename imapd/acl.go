package imapd

import (
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// Access control lists (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS
// and MYRIGHTS over storage's lists (storage/acl.go). The session's user
// is the account's owner, who holds every right on each mailbox; the
// rights checks below go through MyRights all the same, so they hold
// when other users open mailboxes they were granted (issue 19).
//
// Identifiers are "anyone" and the address of a user of this server.
// Negative rights ("-id") are refused with NO [CANNOT]: they would have
// to be subtracted everywhere rights are checked, and nothing needs them
// yet. The owner's rights cannot be changed: LISTRIGHTS tells the client
// so in advance (all required, none optional), and a SETACL or DELETEACL
// that would take any away answers NO [CANNOT] rather than OK with no
// effect, so the client's view of the list stays true.

// Rights that let a user know a mailbox exists (RFC 4314 §4, MYRIGHTS:
// "any of l r i k x a"); without one of them the mailbox is answered as
// nonexistent, so its name leaks to no one (RFC 4314, Security
// Considerations: GETACL on a mailbox one may not LIST gets the error of
// a mailbox that does not exist).
const visibleRights = "lrikxa"

// rightSet converts storage's rights string.
func rightSet(s string) imap.RightSet { return imap.RightSet(s) }

// aclCheck returns the canonical mailbox name after checking that the
// user holds need on it (one of them when anyOf is set).
func (s *session) aclCheck(mailbox, need string, anyOf bool) (string, error) {
	canon, err := storage.ValidMailboxName(mailbox)
	if err != nil {
		return "", no(imap.ResponseCodeNonExistent, "No such mailbox")
	}
	have, err := s.acct.MyRights(s.ctx(), canon, s.user)
	if err != nil {
		return "", mailboxError(err)
	}
	if !strings.ContainsAny(have, visibleRights) {
		return "", no(imap.ResponseCodeNonExistent, "No such mailbox")
	}
	allowed := true
	if anyOf {
		allowed = strings.ContainsAny(have, need)
	} else {
		for _, r := range need {
			allowed = allowed && strings.ContainsRune(have, r)
		}
	}
	if !allowed {
		return "", no(imap.ResponseCodeNoPerm, "Permission denied")
	}
	return canon, nil
}

// aclError maps storage's ACL errors to responses.
func aclError(err error) error {
	switch {
	case errors.Is(err, storage.ErrACLOwner):
		return no(imap.ResponseCodeCannot, "The owner always has every right on their mailboxes")
	case errors.Is(err, storage.ErrACLNegative):
		return no(imap.ResponseCodeCannot, "Negative rights are not supported")
	case errors.Is(err, storage.ErrACLIdentifier):
		return no(imap.ResponseCodeCannot, "Unknown identifier: use anyone or the address of a user of this server")
	case errors.Is(err, storage.ErrACLRights):
		// wire.ParseRights admits only rights storage knows.
		return bad("", "Invalid rights")
	}
	return mailboxError(err)
}

// cmdSetACL: RFC 4314 §3.1, needs the a right (§4).
func (s *session) cmdSetACL(r *request) error {
	args, err := s.r.ReadSetACLArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := s.aclCheck(args.Mailbox, "a", false)
	if err != nil {
		return err
	}
	mode := storage.ACLReplace
	switch args.Modification {
	case imap.RightModificationAdd:
		mode = storage.ACLAdd
	case imap.RightModificationRemove:
		mode = storage.ACLRemove
	}
	rights, err := s.acct.SetACL(s.ctx(), canon, string(args.Identifier), string(args.Rights), mode)
	if err != nil {
		return aclError(err)
	}
	r.log.Info("acl set", "mailbox", canon, "identifier", string(args.Identifier), "rights", rights)
	return nil
}

// cmdDeleteACL: RFC 4314 §3.2, needs the a right.
func (s *session) cmdDeleteACL(r *request) error {
	mailbox, id, err := s.r.ReadDeleteACLArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := s.aclCheck(mailbox, "a", false)
	if err != nil {
		return err
	}
	if err := s.acct.DeleteACL(s.ctx(), canon, string(id)); err != nil {
		return aclError(err)
	}
	r.log.Info("acl deleted", "mailbox", canon, "identifier", string(id))
	return nil
}

// cmdGetACL: RFC 4314 §3.3, needs the a right; answers * ACL (§3.6).
func (s *session) cmdGetACL(r *request) error {
	mailbox, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := s.aclCheck(mailbox, "a", false)
	if err != nil {
		return err
	}
	acl, err := s.acct.ACL(s.ctx(), canon)
	if err != nil {
		return aclError(err)
	}
	entries := make([]wire.ACLEntry, len(acl))
	for i, e := range acl {
		entries[i] = wire.ACLEntry{Identifier: imap.RightsIdentifier(e.Identifier), Rights: rightSet(e.Rights)}
	}
	s.w.ACL(canon, entries)
	return nil
}

// cmdListRights: RFC 4314 §3.4, needs the a right; answers * LISTRIGHTS
// (§3.7). The owner holds every right, all required. Anyone else may be
// granted each right alone; c and d (§2.1.1) are listed as well, for
// RFC 2086 clients, granting k x and e t.
func (s *session) cmdListRights(r *request) error {
	mailbox, id, err := s.r.ReadListRightsArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := s.aclCheck(mailbox, "a", false)
	if err != nil {
		return err
	}
	_, owner, err := s.acct.ACLIdentifier(s.ctx(), string(id))
	if err != nil {
		return aclError(err)
	}
	if owner {
		s.w.ListRights(canon, id, imap.RightSet(wire.RightsString(rightSet(storage.AllRights))), nil)
		return nil
	}
	optional := make([]imap.RightSet, 0, len(storage.AllRights)+2)
	for _, c := range storage.AllRights + "cd" {
		optional = append(optional, imap.RightSet{imap.Right(c)})
	}
	s.w.ListRights(canon, id, nil, optional)
	return nil
}

// cmdMyRights: RFC 4314 §3.5, needs any of l r i k x a; answers
// * MYRIGHTS (§3.8).
func (s *session) cmdMyRights(r *request) error {
	mailbox, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := s.aclCheck(mailbox, visibleRights, true)
	if err != nil {
		return err
	}
	rights, err := s.acct.MyRights(s.ctx(), canon, s.user)
	if err != nil {
		return aclError(err)
	}
	s.w.MyRights(canon, rightSet(rights))
	return nil
}
