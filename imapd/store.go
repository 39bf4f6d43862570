package imapd

import (
	"errors"
	"slices"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// errReadOnly answers changes to a mailbox opened with EXAMINE.
var errReadOnly = no(imap.ResponseCodeCannot, "Mailbox is read-only")

// refuse logs a refusal of what the client asked (at info, with the
// session's conn_id, remote and user) and returns it; other errors pass
// unlogged (the session logs server faults).
func (s *session) refuse(op string, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeOK {
		s.log.Info("refused", "op", op, "reply", string(ie.Type), "code", string(ie.Code), "text", ie.Text)
	}
	return err
}

// cmdStore implements STORE and UID STORE (RFC 9051 §6.4.6) with
// UNCHANGEDSINCE (RFC 7162 §3.1.3). The flags are changed in storage,
// message by message, each change reading the current flags in its own
// transaction; the replies show the flags as stored. Other sessions learn
// of the change from the log; this one is not told twice (view.tell).
func (s *session) cmdStore(r *request) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	set, err := s.r.ReadNumSet(r.uid)
	if err != nil {
		return err
	}
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	sf, opts, err := s.r.ReadStore()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	v := s.sel
	if v.readOnly {
		return s.refuse("store", errReadOnly)
	}
	if err := checkFlags(sf.Flags); err != nil {
		return s.refuse("store", err)
	}
	if seqs, ok := set.(imap.SeqSet); ok && !v.seqInRange(seqs) {
		return s.refuse("store", bad(imap.ResponseCodeClientBug, "Message sequence number out of range"))
	}
	conditional := opts != nil && opts.UnchangedSince != nil
	if conditional {
		s.enabled["CONDSTORE"] = true // RFC 7162 §3.1: a CONDSTORE-enabling command
	}
	items := v.resolve(set)
	uids := make([]uint32, 0, len(items))
	for _, it := range items {
		if !v.isGone(it.uid) {
			uids = append(uids, it.uid)
		}
	}
	change := storageFlags(sf.Flags)
	update := func(cur []string) []string { return applyStore(cur, sf.Op, change) }
	sopts := storage.StoreOptions{}
	if conditional {
		sopts = storage.StoreOptions{Conditional: true, UnchangedSince: *opts.UnchangedSince}
	}
	res, err := s.acct.UpdateFlags(s.ctx(), v.name, uids, update, sopts)
	if err != nil {
		return s.refuse("store", mailboxError(err))
	}
	var all []string
	for _, m := range res.Messages {
		v.tell(m.ModSeq)
		all = append(all, m.Flags...)
	}
	if !sf.Silent {
		s.announceKeywords(v, all)
	}
	for _, m := range res.Messages {
		// RFC 7162 §3.1.3: with CONDSTORE the MODSEQ goes out even for
		// .SILENT.
		if !sf.Silent || s.condstore() {
			s.writeFetchFlags(v, v.seqOf(m.UID), m.UID, m.Flags, m.ModSeq, !sf.Silent)
		}
	}
	if len(res.Modified) > 0 {
		var mod imap.NumSet
		if r.uid {
			var us imap.UIDSet
			for _, u := range res.Modified {
				us.AddNum(imap.UID(u))
			}
			mod = us
		} else {
			var ss imap.SeqSet
			for _, u := range res.Modified {
				ss.AddNum(v.seqOf(u))
			}
			mod = ss
		}
		return ok(wire.CodeModified(mod), "Conditional STORE failed")
	}
	return nil
}

// applyStore computes a message's flags after a STORE operation. Flags
// compare case-insensitively (RFC 9051 §2.3.2).
func applyStore(cur []string, op imap.StoreFlagsOp, change []string) []string {
	switch op {
	case imap.StoreFlagsSet:
		return slices.Clone(change)
	case imap.StoreFlagsAdd:
		out := slices.Clone(cur)
		for _, f := range change {
			if !containsFold(out, f) {
				out = append(out, f)
			}
		}
		return out
	default:
		var out []string
		for _, f := range cur {
			if !containsFold(change, f) {
				out = append(out, f)
			}
		}
		return out
	}
}
