package imapd

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// cmdSelect implements SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3;
// RFC 7162 §3.1.8, §3.2.5).
func (s *session) cmdSelect(r *request) error {
	name, p, err := s.r.ReadSelectArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if p.QResync != nil && !s.qresync() {
		return s.refuse("select", bad(imap.ResponseCodeClientBug, "QRESYNC must be enabled first")) // RFC 7162 §3.2.5
	}
	readOnly := r.name == "EXAMINE"

	// The selected mailbox is closed, even when this SELECT fails (RFC
	// 9051 §6.3.2).
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
		s.state = stateAuth
		if s.qresync() || s.rev2() {
			s.w.Status("", imap.StatusResponseTypeOK, wire.CodeClosed, "Previous mailbox is now closed") // RFC 7162 §3.2.11
		}
	}
	if p.CondStore {
		s.enabled["CONDSTORE"] = true
	}
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return s.refuse("select", mailboxError(err))
	}
	v, msgs, err := s.openView(canon, readOnly)
	if err != nil {
		return s.refuse("select", mailboxError(err))
	}

	s.writeMailboxFlags(v)
	s.w.Untagged().Number(uint32(len(v.uids))).SP().Atom("EXISTS").CRLF()
	if !s.rev2() {
		s.w.Untagged().Number(v.recentCount()).SP().Atom("RECENT").CRLF()
	}
	next := max(v.maxUID()+1, v.uidNext0)
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDVALIDITY "+strconv.FormatUint(uint64(v.validity), 10)), "UIDs valid")
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDNEXT "+strconv.FormatUint(uint64(next), 10)), "Predicted next UID")
	s.w.Status("", imap.StatusResponseTypeOK, wire.CodeHighestModSeq(v.modseq), "Highest")
	if q := p.QResync; q != nil && q.UIDValidity == v.validity {
		if err := s.qresyncSelect(v, q, msgs); err != nil {
			v.close()
			return err
		}
	}
	s.sel = v
	s.state = stateSelected
	if readOnly {
		return ok("READ-ONLY", r.name+" completed")
	}
	return ok("READ-WRITE", r.name+" completed")
}

// openView builds the view of a mailbox from storage: files other
// programs changed are indexed first, then HIGHESTMODSEQ is read before
// the messages, so a change made between the two reads is reported again
// by the next updates rather than lost.
func (s *session) openView(canon string, readOnly bool) (*view, []storage.Message, error) {
	ctx := s.ctx()
	if _, err := s.acct.Refresh(ctx, canon); err != nil {
		return nil, nil, err
	}
	hm, err := s.acct.HighestModSeq(ctx, canon)
	if err != nil {
		return nil, nil, err
	}
	validity, next, err := s.acct.UIDs(ctx, canon)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := s.acct.Messages(ctx, canon)
	if err != nil {
		return nil, nil, err
	}
	v := &view{
		name:     canon,
		readOnly: readOnly,
		validity: validity,
		uidNext0: next,
		modseq:   hm,
		uids:     make([]uint32, len(msgs)),
		keywords: map[string]string{strings.ToLower(string(imap.FlagForwarded)): string(imap.FlagForwarded)},
		own:      map[uint64]bool{},
		boxes:    s.srv.boxes,
	}
	for i, m := range msgs {
		v.uids[i] = m.UID
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, `\`) {
				if k := strings.ToLower(f); v.keywords[k] == "" {
					v.keywords[k] = f
				}
			}
		}
	}
	if !s.rev2() && len(v.uids) > 0 {
		if err := s.selectRecent(v); err != nil {
			return nil, nil, err
		}
	}
	v.box = s.srv.boxes.acquire(boxKey{s.user.String(), canon}, validity)
	v.headers = v.box.headers
	return v, msgs, nil
}

// qresyncSelect sends what changed since the client's last
// synchronisation (RFC 7162 §3.2.5): VANISHED (EARLIER) for the messages
// expunged since q.modseq, then FETCH (UID FLAGS MODSEQ) for those
// changed since, both limited to the client's known UIDs. When the log no
// longer reaches back to q.modseq, every known UID that is not in the
// mailbox is reported (VANISHED (EARLIER) allows UIDs the client never
// had, §3.2.10.1) and every message as changed.
//
// seq-match-data is not needed: the change log answers exactly which
// UIDs vanished.
func (s *session) qresyncSelect(v *view, q *wire.QResyncParams, msgs []storage.Message) error {
	known := func(uid uint32) bool { return q.KnownUIDs == nil || q.KnownUIDs.Contains(imap.UID(uid)) }
	var vanished []imap.UID
	changes, err := s.acct.Changes(s.ctx(), v.name, q.ModSeq)
	switch {
	case errors.Is(err, storage.ErrChangesExpired):
		present := make(map[uint32]bool, len(msgs))
		for _, m := range msgs {
			present[m.UID] = true
		}
		if q.KnownUIDs != nil {
			for _, r := range q.KnownUIDs {
				for u := uint32(r.Start); u <= uint32(r.Stop) && u < v.uidNext0; u++ {
					if !present[u] {
						vanished = append(vanished, imap.UID(u))
					}
				}
			}
		} else {
			for u := uint32(1); u < v.uidNext0 && u <= v.maxUID(); u++ {
				if !present[u] {
					vanished = append(vanished, imap.UID(u))
				}
			}
		}
	case err != nil:
		return err
	default:
		for _, c := range changes {
			if c.Kind == storage.MessageExpunged && v.seqOf(c.UID) == 0 && known(c.UID) {
				vanished = append(vanished, imap.UID(c.UID))
			}
		}
	}
	if len(vanished) > 0 {
		s.w.Vanished(true, wire.CompactUIDs(vanished))
	}
	for i, m := range msgs {
		if m.ModSeq > q.ModSeq && known(m.UID) {
			s.writeFetchFlags(v, uint32(i+1), m.UID, m.Flags, m.ModSeq, true)
		}
	}
	return nil
}

// cmdClose implements CLOSE (RFC 9051 §6.4.1): the messages marked
// \Deleted are expunged without EXPUNGE responses, unless the mailbox
// was opened with EXAMINE (RFC 3501 §6.4.2: then it is only closed).
func (s *session) cmdClose(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	v := s.sel
	var err error
	if !v.readOnly {
		err = s.expungeDeleted(v, nil)
	}
	v.close()
	s.sel = nil
	s.state = stateAuth
	return err
}

// cmdUnselect implements UNSELECT (RFC 3691): close without expunging.
func (s *session) cmdUnselect(r *request) error {
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	s.sel.close()
	s.sel = nil
	s.state = stateAuth
	return nil
}
