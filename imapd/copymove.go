package imapd

import (
	"errors"
	"strconv"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

// cmdCopy implements COPY and UID COPY (RFC 9051 §6.4.7) with COPYUID
// (RFC 4315 §3).
func (s *session) cmdCopy(r *request) error {
	set, dst, err := s.readCopyArgs(r)
	if err != nil {
		return s.refuse("copy", err)
	}
	code, _, err := s.copy(set, dst)
	if err != nil {
		return s.refuse("copy", err)
	}
	return ok(code, r.name+" completed")
}

// cmdMove implements MOVE and UID MOVE (RFC 6851): copy, then expunge
// the originals. COPYUID goes out in an untagged OK before the EXPUNGE
// (or VANISHED) responses, which the updates after the command send
// (RFC 6851 §4.3).
func (s *session) cmdMove(r *request) error {
	set, dst, err := s.readCopyArgs(r)
	if err != nil {
		return s.refuse("move", err)
	}
	if s.sel.readOnly {
		return s.refuse("move", errReadOnly)
	}
	code, copied, err := s.copy(set, dst)
	if err != nil {
		return s.refuse("move", err)
	}
	if code != "" {
		s.w.Status("", imap.StatusResponseTypeOK, code, "Moved")
	}
	if len(copied) > 0 {
		if err := s.acct.Expunge(s.ctx(), s.sel.name, copied); err != nil {
			return mailboxError(err)
		}
		s.log.Info("moved", "mailbox", s.sel.name, "to", dst, "count", len(copied))
	}
	return nil
}

func (s *session) readCopyArgs(r *request) (imap.NumSet, string, error) {
	if err := s.r.ReadSP(); err != nil {
		return nil, "", err
	}
	set, err := s.r.ReadNumSet(r.uid)
	if err != nil {
		return nil, "", err
	}
	if err := s.r.ReadSP(); err != nil {
		return nil, "", err
	}
	dst, err := s.r.ReadMailbox()
	if err != nil {
		return nil, "", err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return nil, "", err
	}
	if seqs, ok := set.(imap.SeqSet); ok && !s.sel.seqInRange(seqs) {
		return nil, "", bad(imap.ResponseCodeClientBug, "Message sequence number out of range")
	}
	return set, dst, nil
}

// copy copies the messages of set into dst and returns the COPYUID code
// ("" when nothing was copied) and the source UIDs copied.
func (s *session) copy(set imap.NumSet, dst string) (imap.ResponseCode, []uint32, error) {
	canon, err := storage.ValidMailboxName(dst)
	if err != nil {
		return "", nil, mailboxError(err)
	}
	ctx := s.ctx()
	validity, _, err := s.acct.UIDs(ctx, canon)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil, no(imap.ResponseCodeTryCreate, "No such mailbox") // RFC 9051 §6.4.7
	}
	if err != nil {
		return "", nil, mailboxError(err)
	}
	v := s.sel
	var uids []uint32
	for _, it := range v.resolve(set) {
		if !v.isGone(it.uid) {
			uids = append(uids, it.uid)
		}
	}
	newUIDs, err := s.acct.Copy(ctx, v.name, uids, canon)
	if err != nil {
		return "", nil, mailboxError(err)
	}
	var src, dstSet imap.UIDSet
	var copied, dstUIDs []uint32
	for i, n := range newUIDs {
		if n != 0 {
			src.AddNum(imap.UID(uids[i]))
			dstSet.AddNum(imap.UID(n))
			copied = append(copied, uids[i])
			dstUIDs = append(dstUIDs, n)
		}
	}
	s.learnFiled(v.name, canon, dstUIDs) // into or out of Junk
	if len(copied) == 0 {
		return "", nil, nil
	}
	code := imap.ResponseCode("COPYUID " + strconv.FormatUint(uint64(validity), 10) + " " + src.String() + " " + dstSet.String())
	return code, copied, nil
}
