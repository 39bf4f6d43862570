package imapd

import (
	"slices"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

// cmdExpunge implements EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC
// 4315 §2.1): the messages marked \Deleted (of the given UIDs) are
// removed. The EXPUNGE (or VANISHED) responses reach this session, like
// every other, from the change log after the command.
func (s *session) cmdExpunge(r *request) error {
	var set imap.NumSet
	if r.uid {
		if err := s.r.ReadSP(); err != nil {
			return err
		}
		var err error
		if set, err = s.r.ReadNumSet(true); err != nil {
			return err
		}
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if s.sel.readOnly {
		return s.refuse("expunge", errReadOnly)
	}
	return s.refuse("expunge", s.expungeDeleted(s.sel, set))
}

// expungeDeleted removes the messages of the view marked \Deleted (only
// those of set, when given). It reads their flags in one query.
func (s *session) expungeDeleted(v *view, set imap.NumSet) error {
	if len(v.uids) == 0 {
		return nil
	}
	first, last := v.uids[0], v.maxUID()
	var in map[uint32]bool
	if set != nil {
		items := v.resolve(set)
		if len(items) == 0 {
			return nil
		}
		in = make(map[uint32]bool, len(items))
		for _, it := range items {
			in[it.uid] = true
		}
		first, last = items[0].uid, items[len(items)-1].uid
	}
	ctx := s.ctx()
	msgs, err := s.acct.MessageRange(ctx, v.name, first, last)
	if err != nil {
		return mailboxError(err)
	}
	var gone []uint32
	for _, m := range msgs {
		if (in == nil || in[m.UID]) && slices.Contains(m.Flags, storage.FlagDeleted) && v.seqOf(m.UID) != 0 {
			gone = append(gone, m.UID)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := s.acct.Expunge(ctx, v.name, gone); err != nil {
		return mailboxError(err)
	}
	s.log.Info("expunged", "mailbox", v.name, "count", len(gone))
	return nil
}
