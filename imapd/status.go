package imapd

import (
	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// cmdStatus implements STATUS (RFC 9051 §6.3.11): MESSAGES, UIDNEXT,
// UIDVALIDITY, UNSEEN, DELETED, SIZE (RFC 8438), RECENT (RFC 3501),
// APPENDLIMIT (RFC 7889), DELETED-STORAGE (RFC 9208) and HIGHESTMODSEQ
// (RFC 7162).
func (s *session) cmdStatus(r *request) error {
	name, opts, err := s.r.ReadStatusArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	return s.fail("status", s.writeStatus(name, opts))
}

// writeStatus writes the STATUS response of one mailbox (STATUS, and LIST
// RETURN (STATUS), RFC 5819).
//
// For the selected mailbox the session is first told what changed
// (EXISTS, EXPUNGE, FETCH FLAGS), so the counts it gets agree with what
// it was told (RFC 9051 §6.3.11 warns that they may not otherwise).
func (s *session) writeStatus(name string, opts *imap.StatusOptions) error {
	ctx := s.ctx()
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return err
	}
	if s.sel != nil && s.sel.name == canon {
		if err := s.updates(true); err != nil {
			return err
		}
	} else if _, err := s.acct.Refresh(ctx, canon); err != nil {
		// Files other programs added reach the index before counting.
		return err
	}
	st, err := s.acct.Status(ctx, canon)
	if err != nil {
		return err
	}
	d := &imap.StatusData{Mailbox: canon, UIDNext: imap.UID(st.UIDNext), UIDValidity: st.UIDValidity, HighestModSeq: st.HighestModSeq}
	messages, unseen := uint32(st.Messages), uint32(st.Unseen)
	d.NumMessages, d.NumUnseen, d.Size = &messages, &unseen, &st.Size
	if opts.NumRecent {
		// RFC 3501 §6.3.10: the messages still \Recent to the next
		// session that selects the mailbox (recent.go).
		recent, err := s.statusRecent(ctx, canon)
		if err != nil {
			return err
		}
		d.NumRecent = &recent
	}
	limit := s.srv.opts.AppendLimit
	d.AppendLimit = &limit
	if opts.NumDeleted || opts.DeletedStorage {
		count, size, err := s.acct.Deleted(ctx, canon)
		if err != nil {
			return err
		}
		n := uint32(count)
		// RFC 9208 §4.3: in units of 1024 octets, as the STORAGE resource.
		kib := (size + 1023) / 1024
		d.NumDeleted, d.DeletedStorage = &n, &kib
	}
	s.w.StatusData(canon, wire.StatusItems(opts, d))
	return nil
}
