package imapd

import (
	"errors"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// selectParams are the parameters of SELECT and EXAMINE (RFC 4466 §2.1;
// RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC).
type selectParams struct {
	condStore bool
	qresync   *qresyncParams
}

// qresyncParams is "QRESYNC (uidvalidity modseq [known-uids [seq-match]])".
type qresyncParams struct {
	validity  uint32
	modseq    uint64
	knownUIDs imap.UIDSet // nil: every UID
}

// readSelectParams reads [SP "(" select-param *(SP select-param) ")"].
// It is the smallest reader SELECT needs until wire's ReadSelectParams
// (branch wirex) reaches this branch. seq-match-data is read and not
// used: the change log answers exactly which UIDs vanished.
func readSelectParams(r *wire.Reader) (*selectParams, error) {
	p := &selectParams{}
	sp, err := r.MaybeSP()
	if err != nil || !sp {
		return p, err
	}
	n := 0
	err = r.ReadList(func() error {
		n++
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "CONDSTORE":
			p.condStore = true
			return nil
		case "QRESYNC":
			if p.qresync != nil {
				return &wire.SyntaxError{Msg: "QRESYNC twice"}
			}
			if err := r.ReadSP(); err != nil {
				return err
			}
			p.qresync, err = readQresync(r)
			return err
		}
		return &wire.SyntaxError{Msg: "Unknown select parameter " + truncate(a)}
	})
	if err == nil && n == 0 {
		err = &wire.SyntaxError{Msg: "Empty select parameter list"}
	}
	return p, err
}

func readQresync(r *wire.Reader) (*qresyncParams, error) {
	q := &qresyncParams{}
	i := 0
	err := r.ReadList(func() error {
		var err error
		switch i {
		case 0:
			q.validity, err = r.ReadNzNumber()
		case 1:
			q.modseq, err = r.ReadModSeq()
			if err == nil && q.modseq == 0 {
				err = &wire.SyntaxError{Msg: "QRESYNC mod-sequence must not be 0"}
			}
		case 2:
			if c, perr := r.Peek(); perr == nil && c == '(' {
				i++ // seq-match-data without known-uids
				err = readSeqMatch(r)
				break
			}
			var set imap.NumSet
			set, err = r.ReadNumSet(true)
			if err == nil {
				if uids, ok := set.(imap.UIDSet); ok && !uids.Dynamic() {
					q.knownUIDs = uids // "$" or "*": every UID
				}
			}
		case 3:
			err = readSeqMatch(r)
		default:
			err = &wire.SyntaxError{Msg: "Too many QRESYNC parameters"}
		}
		i++
		return err
	})
	if err == nil && i < 2 {
		err = &wire.SyntaxError{Msg: "QRESYNC needs UIDVALIDITY and a mod-sequence"}
	}
	return q, err
}

// readSeqMatch reads "(" sequence-set SP sequence-set ")".
func readSeqMatch(r *wire.Reader) error {
	i := 0
	err := r.ReadList(func() error {
		i++
		if i > 2 {
			return &wire.SyntaxError{Msg: "Bad QRESYNC seq-match-data"}
		}
		_, err := r.ReadNumSet(i == 2)
		return err
	})
	if err == nil && i != 2 {
		err = &wire.SyntaxError{Msg: "Bad QRESYNC seq-match-data"}
	}
	return err
}

// cmdSelect implements SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3;
// RFC 7162 §3.1.8, §3.2.5).
func (s *session) cmdSelect(r *request) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	name, err := s.r.ReadMailbox()
	if err != nil {
		return err
	}
	p, err := readSelectParams(s.r)
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if p.qresync != nil && !s.qresync() {
		return bad(imap.ResponseCodeClientBug, "QRESYNC must be enabled first") // RFC 7162 §3.2.5
	}
	readOnly := r.name == "EXAMINE"

	// The selected mailbox is closed, even when this SELECT fails (RFC
	// 9051 §6.3.2).
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
		s.state = stateAuth
		if s.qresync() || s.rev2() {
			s.w.Status("", imap.StatusResponseTypeOK, "CLOSED", "Previous mailbox is now closed") // RFC 7162 §3.2.11
		}
	}
	if p.condStore {
		s.enabled["CONDSTORE"] = true
	}
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return mailboxError(err)
	}
	v, msgs, err := s.openView(canon, readOnly)
	if err != nil {
		return mailboxError(err)
	}

	s.writeMailboxFlags(v)
	s.w.Untagged().Number(uint32(len(v.uids))).SP().Atom("EXISTS").CRLF()
	if !s.rev2() {
		s.w.Untagged().Number(v.recentCount()).SP().Atom("RECENT").CRLF()
	}
	next := max(v.maxUID()+1, v.uidNext0)
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDVALIDITY "+strconv.FormatUint(uint64(v.validity), 10)), "UIDs valid")
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("UIDNEXT "+strconv.FormatUint(uint64(next), 10)), "Predicted next UID")
	s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode("HIGHESTMODSEQ "+strconv.FormatUint(v.modseq, 10)), "Highest")
	if q := p.qresync; q != nil && q.validity == v.validity {
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
		if readOnly {
			if first := s.peekRecent(canon, validity); first <= v.maxUID() {
				v.recent.AddRange(imap.UID(first), imap.UID(v.maxUID()))
			}
		} else if first, last := s.claimRecent(canon, validity, v.maxUID()); first != 0 {
			v.recent.AddRange(imap.UID(first), imap.UID(last))
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
func (s *session) qresyncSelect(v *view, q *qresyncParams, msgs []storage.Message) error {
	known := func(uid uint32) bool { return q.knownUIDs == nil || q.knownUIDs.Contains(imap.UID(uid)) }
	var vanished []imap.UID
	changes, err := s.acct.Changes(s.ctx(), v.name, q.modseq)
	switch {
	case errors.Is(err, storage.ErrChangesExpired):
		present := make(map[uint32]bool, len(msgs))
		for _, m := range msgs {
			present[m.UID] = true
		}
		if q.knownUIDs != nil {
			for _, r := range q.knownUIDs {
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
		s.w.Untagged().Atom("VANISHED").SP().Atom("(EARLIER)").SP().NumSet(compactUIDs(vanished)).CRLF()
	}
	for i, m := range msgs {
		if m.ModSeq > q.modseq && known(m.UID) {
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
