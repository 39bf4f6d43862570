package imapd

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

// Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE
// (RFC 9051 §6.3.4-§6.3.8). Names arrive decoded by the wire reader
// (modified UTF-7, or UTF-8 after ENABLE IMAP4rev2); storage checks them
// and maps "A/B" to the Maildir++ folder ".A.B".

// cmdCreate implements CREATE (RFC 9051 §6.3.4). A trailing delimiter
// only says the client means to create children (it is dropped), and
// intermediate levels need no folder of their own in Maildir++. The USE
// parameter (RFC 6154 §3, CREATE-SPECIAL-USE) records the mailbox's
// special use in storage.
func (s *session) cmdCreate(r *request) error {
	name, params, err := s.r.ReadCreateArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	name = strings.TrimSuffix(name, string(delim))
	use := ""
	if params.UseGiven {
		// RFC 6154 §3: one use per mailbox here; a use Yubin does not
		// support (\All, \Flagged: virtual mailboxes) is USEATTR.
		if len(params.SpecialUse) != 1 {
			return s.fail("create", no(imap.ResponseCode("USEATTR"), "Give exactly one special use"))
		}
		u, err := storage.CanonicalSpecialUse(string(params.SpecialUse[0]))
		if err != nil {
			return s.fail("create", no(imap.ResponseCode("USEATTR"), "Unsupported special use"))
		}
		use = u
	}
	// An account that never changed its subscriptions is subscribed to
	// every mailbox (storage's default); the list is written out before
	// the new mailbox exists, so CREATE does not subscribe it (RFC 9051
	// §6.3.4: it is the client's choice).
	// (The implicit list always holds INBOX; when INBOX is not
	// subscribed the list is on disk already and is left alone.)
	subs, err := s.acct.Subscriptions(s.ctx())
	if err != nil {
		return s.fail("create", err)
	}
	if slices.Contains(subs, storage.Inbox) {
		if err := s.acct.SetSubscribed(s.ctx(), storage.Inbox, true); err != nil {
			return s.fail("create", err)
		}
	}
	if err := s.acct.CreateMailbox(s.ctx(), name); err != nil {
		return s.fail("create", err)
	}
	if use != "" {
		if err := s.acct.SetSpecialUse(s.ctx(), name, use); err != nil {
			// All or nothing (RFC 6154 §3): the mailbox goes again.
			s.acct.DeleteMailbox(s.ctx(), name)
			return s.fail("create", err)
		}
	}
	return nil
}

// cmdDelete implements DELETE (RFC 9051 §6.3.5). Children stay: the
// deleted name remains as a \Noselect level above them. A name that is
// only such a level (no folder of its own) has nothing to delete.
func (s *session) cmdDelete(r *request) error {
	name, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return s.fail("delete", err)
	}
	if canon == storage.Inbox {
		// RFC 9051 §6.3.5: it is an error to delete INBOX.
		return s.fail("delete", no(imap.ResponseCodeCannot, "INBOX cannot be deleted"))
	}
	if s.sel != nil && s.sel.name == canon {
		return s.fail("delete", no(imap.ResponseCodeInUse, "Mailbox is selected"))
	}
	subs, err := s.acct.Subscriptions(s.ctx())
	if err != nil {
		return s.fail("delete", err)
	}
	err = s.acct.DeleteMailbox(s.ctx(), canon)
	if err == nil && slices.Contains(subs, canon) {
		// RFC 9051 §6.3.7: the server must not remove a name from the
		// subscriptions because its mailbox is gone; storage does.
		err = s.acct.SetSubscribed(s.ctx(), canon, true)
	}
	if errors.Is(err, storage.ErrNotFound) {
		if boxes, lerr := s.acct.Mailboxes(s.ctx()); lerr == nil && hasChildren(canon, boxes) {
			// RFC 9051 §6.3.5: a \Noselect name with inferiors.
			return s.fail("delete", no(imap.ResponseCodeHasChildren, "Mailbox has children and no messages of its own"))
		}
	}
	return s.fail("delete", err)
}

// cmdRename implements RENAME (RFC 9051 §6.3.6), children included.
// Renaming INBOX moves its messages to the new mailbox and leaves INBOX
// empty.
func (s *session) cmdRename(r *request) error {
	from, to, err := s.r.ReadRenameArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	to = strings.TrimSuffix(to, string(delim))
	canon, err := storage.ValidMailboxName(from)
	if err != nil {
		return s.fail("rename", err)
	}
	if s.sel != nil && canon != storage.Inbox && (s.sel.name == canon || strings.HasPrefix(s.sel.name, canon+string(delim))) {
		// The session's UIDs would silently refer to another name.
		return s.fail("rename", no(imap.ResponseCodeInUse, "Mailbox is selected"))
	}
	err = s.acct.RenameMailbox(s.ctx(), canon, to)
	if err == nil {
		s.log.Info("renamed", "mailbox", canon, "to", to)
	}
	return s.fail("rename", err)
}

// cmdSubscribe implements SUBSCRIBE (RFC 9051 §6.3.7).
func (s *session) cmdSubscribe(r *request) error { return s.subscribe(true) }

// cmdUnsubscribe implements UNSUBSCRIBE (RFC 9051 §6.3.8). A name that is
// not subscribed is no error (the end state is what was asked).
func (s *session) cmdUnsubscribe(r *request) error { return s.subscribe(false) }

func (s *session) subscribe(on bool) error {
	name, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	op := "subscribe"
	if !on {
		op = "unsubscribe"
	}
	if on {
		// RFC 9051 §6.3.7 allows subscribing to a name that does not
		// exist; Dovecot and this server do, but only to a valid one.
		if _, err := storage.ValidMailboxName(name); err != nil {
			return s.fail(op, err)
		}
	}
	return s.fail(op, s.acct.SetSubscribed(s.ctx(), name, on))
}

// hasChildren reports whether some mailbox is below name.
func hasChildren(name string, boxes []storage.MailboxInfo) bool {
	prefix := name + string(delim)
	i, _ := slices.BinarySearchFunc(boxes[min(1, len(boxes)):], prefix, func(b storage.MailboxInfo, p string) int {
		return strings.Compare(b.Name, p)
	})
	rest := boxes[min(1, len(boxes)):]
	return i < len(rest) && strings.HasPrefix(rest[i].Name, prefix)
}

// fail maps a storage error to an IMAP response (mailboxError) and logs
// a refusal through refuse; unexpected errors pass to the session, which
// logs them as faults.
func (s *session) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return s.refuse(op, mailboxError(err))
}
