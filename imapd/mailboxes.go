package imapd

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// Create implements CREATE. Intermediate levels need no folder of their
// own in Maildir++, so "A/B" is created directly.
func (s *session) Create(name string, options *imap.CreateOptions) error {
	name = strings.TrimSuffix(name, string(delim))
	return s.fail("create", s.acct.CreateMailbox(s.ctx(), name))
}

// Delete implements DELETE.
func (s *session) Delete(name string) error {
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return s.fail("delete", err)
	}
	if canon == storage.Inbox {
		// RFC 3501 §6.3.4: it is an error to delete INBOX.
		return s.fail("delete", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"})
	}
	if s.sel != nil && s.sel.name == canon {
		return s.fail("delete", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeInUse, Text: "Mailbox is selected"})
	}
	return s.fail("delete", s.acct.DeleteMailbox(s.ctx(), canon))
}

// Rename implements RENAME, hierarchy included.
func (s *session) Rename(from, to string, options *imap.RenameOptions) error {
	return s.fail("rename", s.acct.RenameMailbox(s.ctx(), from, to))
}

// Subscribe implements SUBSCRIBE.
func (s *session) Subscribe(name string) error {
	return s.fail("subscribe", s.acct.SetSubscribed(s.ctx(), name, true))
}

// Unsubscribe implements UNSUBSCRIBE.
func (s *session) Unsubscribe(name string) error {
	return s.fail("unsubscribe", s.acct.SetSubscribed(s.ctx(), name, false))
}

// List implements LIST, LSUB (SelectSubscribed) and the LIST-EXTENDED,
// LIST-STATUS and SPECIAL-USE options.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		// RFC 3501 §6.3.8: an empty pattern asks for the delimiter.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	ctx := s.ctx()
	boxes, err := s.acct.Mailboxes(ctx)
	if err != nil {
		return s.fail("list", err)
	}
	subs, err := s.acct.Subscriptions(ctx)
	if err != nil {
		return s.fail("list", err)
	}
	exists := map[string]storage.MailboxInfo{}
	var names []string
	for _, b := range boxes {
		exists[b.Name] = b
		names = append(names, b.Name)
	}
	if options.SelectSubscribed {
		// Subscribed names are listed even when the mailbox is gone
		// (with \NonExistent).
		for _, n := range subs {
			if _, ok := exists[n]; !ok {
				names = append(names, n)
			}
		}
		slices.Sort(names)
	}
	match := newListMatcher(ref, patterns, delim)
	for _, name := range names {
		if !match.match(name) {
			continue
		}
		info, ok := exists[name]
		subscribed := slices.Contains(subs, name)
		if options.SelectSubscribed && !subscribed {
			continue
		}
		if options.SelectSpecialUse && info.SpecialUse == "" {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: delim}
		if !ok {
			data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent)
		}
		if subscribed && (options.ReturnSubscribed || options.SelectSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if hasChildren(name, boxes) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if info.SpecialUse != "" {
			data.Attrs = append(data.Attrs, imap.MailboxAttr(info.SpecialUse))
		}
		if options.ReturnStatus != nil && ok {
			st, err := s.status(name, options.ReturnStatus)
			if err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func hasChildren(name string, boxes []storage.MailboxInfo) bool {
	prefix := name + string(delim)
	for _, b := range boxes {
		if strings.HasPrefix(b.Name, prefix) {
			return true
		}
	}
	return false
}

// Status implements STATUS (with SIZE, RFC 8438).
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	st, err := s.status(name, options)
	return st, s.fail("status", err)
}

func (s *session) status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	changed, err := s.acct.Refresh(s.ctx(), name)
	if err != nil {
		return nil, err
	}
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return nil, err
	}
	if changed {
		// As in Select: a loaded mailbox takes in other processes' rows.
		if err := s.srv.reg.sync(s.ctx(), s.acct, canon); err != nil {
			return nil, err
		}
	}
	var st storage.Status
	deleted := -1 // not counted yet
	if b := s.srv.reg.lookup(s.acct.Address(), canon); b != nil {
		// Open in some session: counted from memory, not the index.
		st, deleted = b.status()
		s.srv.reg.release(b)
	} else if st, err = s.acct.Status(s.ctx(), canon); err != nil {
		return nil, err
	}
	data := &imap.StatusData{Mailbox: canon}
	if options.NumMessages {
		n := uint32(st.Messages)
		data.NumMessages = &n
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(st.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = st.UIDValidity
	}
	if options.NumUnseen {
		n := uint32(st.Unseen)
		data.NumUnseen = &n
	}
	if options.NumRecent {
		var zero uint32
		data.NumRecent = &zero
	}
	if options.NumDeleted {
		if deleted < 0 {
			msgs, err := s.acct.Messages(s.ctx(), canon)
			if err != nil {
				return nil, err
			}
			deleted = 0
			for _, m := range msgs {
				if slices.Contains(m.Flags, storage.FlagDeleted) {
					deleted++
				}
			}
		}
		n := uint32(deleted)
		data.NumDeleted = &n
	}
	if options.Size {
		size := st.Size
		data.Size = &size
	}
	if options.AppendLimit {
		limit := s.srv.opts.AppendLimit
		data.AppendLimit = &limit
	}
	return data, nil
}

// fail maps a storage error to an IMAP response and logs it: unexpected
// errors as errors, refusals of what the client asked as info (with the
// session's conn_id, remote and user, like every line of s.log).
func (s *session) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	mapped := mailboxError(err)
	var ie *imap.Error
	switch {
	case !errors.As(mapped, &ie):
	case ie.Code == imap.ResponseCodeServerBug:
		s.log.Error(op, "err", err)
	default:
		s.log.Info("refused", "op", op, "reply", string(ie.Type), "code", string(ie.Code), "err", err)
	}
	return mapped
}
