package imapd

import (
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"yubin/storage"
)

// view is a session's selected mailbox.
type view struct {
	reg       *registry
	box       *mailbox
	name      string
	readOnly  bool
	tracker   *imapserver.SessionTracker
	searchRes imap.UIDSet
}

func (v *view) close() {
	v.tracker.Close()
	v.reg.release(v.box)
}

// park ends the view but keeps the session's reference to its mailbox
// until the next SELECT has opened its own: go-imap unselects before
// every SELECT, and a client selecting the same mailbox again (they do,
// to resynchronise) then finds it loaded.
func (s *session) park() {
	if s.sel == nil {
		return
	}
	s.sel.tracker.Close()
	s.unpark()
	s.parked = s.sel.box
	s.sel = nil
}

// unpark drops the parked mailbox reference, if any.
func (s *session) unpark() {
	if s.parked != nil {
		s.srv.reg.release(s.parked)
		s.parked = nil
	}
}

var (
	mailboxFlags   = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft, imap.FlagForwarded}
	permanentFlags = append(slices.Clone(mailboxFlags), imap.FlagWildcard)
)

// Select implements SELECT and EXAMINE. The previous mailbox stays
// referenced (parked) until the new one is open, so selecting the same
// mailbox again reuses its loaded state.
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.park()
	defer s.unpark()
	canon, err := storage.ValidMailboxName(name)
	if err != nil {
		return nil, s.fail("select", err)
	}
	ctx := s.ctx()
	// Files other programs added or removed are indexed before the view
	// is built (their changes reach open views through the observer).
	changed, err := s.acct.Refresh(ctx, canon)
	if err != nil {
		return nil, s.fail("select", err)
	}
	box, err := s.srv.reg.open(ctx, s.acct, canon)
	if err != nil {
		return nil, s.fail("select", err)
	}
	if changed {
		// A loaded mailbox (parked, or open in another session) also
		// takes in index rows another process wrote (mailctl import).
		if err := s.srv.reg.sync(ctx, s.acct, canon); err != nil {
			s.srv.reg.release(box)
			return nil, s.fail("select", err)
		}
	}
	box.mu.Lock()
	tracker := box.tracker.NewSession()
	data := &imap.SelectData{
		Flags:          mailboxFlags,
		PermanentFlags: permanentFlags,
		NumMessages:    uint32(len(box.msgs)),
		UIDNext:        imap.UID(box.uidNext),
		UIDValidity:    box.uidValidity,
	}
	box.mu.Unlock()
	s.sel = &view{reg: s.srv.reg, box: box, name: canon, readOnly: options.ReadOnly, tracker: tracker}
	if options.ReadOnly {
		data.PermanentFlags = nil
	}
	return data, nil
}

// Unselect implements UNSELECT and the end of CLOSE (go-imap expunges
// first for CLOSE).
func (s *session) Unselect() error {
	s.park()
	return nil
}

// Poll implements NOOP and the updates sent after each command. It first
// looks for changes other programs made to the files.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel == nil {
		return nil
	}
	if allowExpunge {
		s.refresh(s.sel.name)
	}
	return s.sel.tracker.Poll(w, allowExpunge)
}

// Idle implements IDLE: updates are pushed as the registry queues them,
// starting with those queued since the last command (RFC 2177: the
// client is told of changes as they happen; go-imap's SessionTracker.Idle
// waited for the next change before sending any, so a message delivered
// just before IDLE reached the client only when IDLE ended).
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	// go-imap may leave this goroutine running after a client hangs up
	// in IDLE, while the session closes: keep to the view taken here.
	s.selMu.Lock()
	v := s.sel
	s.selMu.Unlock()
	if v == nil {
		<-stop
		return nil
	}
	s.refresh(v.name)
	for {
		changed := v.box.changes()
		if err := v.tracker.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-stop:
			return nil
		}
	}
}

// refresh picks up what other programs changed in the selected mailbox:
// files (Refresh rescans) and index rows (mailctl import writes both).
func (s *session) refresh(name string) {
	changed, err := s.acct.Refresh(s.ctx(), name)
	if err == nil && changed {
		err = s.srv.reg.sync(s.ctx(), s.acct, name)
	}
	if err != nil {
		s.log.Warn("refresh", "mailbox", name, "err", err)
	}
}

// item is one message of a command's number set.
type item struct {
	seq uint32 // the client's sequence number (0 if the client does not know it yet)
	*storage.Message
}

// resolve turns a sequence or UID set into the messages it names, in
// mailbox order, with the sequence numbers the client knows them by.
func (v *view) resolve(numSet imap.NumSet) []item {
	if imap.IsSearchRes(numSet) {
		numSet = v.searchRes
	}
	b := v.box
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []item
	switch set := numSet.(type) {
	case imap.SeqSet:
		set = staticSeqSet(set, v.clientMaxLocked())
		for i, m := range b.msgs {
			seq := v.tracker.EncodeSeqNum(uint32(i + 1))
			if seq != 0 && set.Contains(seq) {
				out = append(out, item{seq, m})
			}
		}
	case imap.UIDSet:
		set = staticUIDSet(set, b.lastUID())
		for i, m := range b.msgs {
			if set.Contains(imap.UID(m.UID)) {
				out = append(out, item{v.tracker.EncodeSeqNum(uint32(i + 1)), m})
			}
		}
	}
	return out
}

// all returns every message of the view, as resolve would for "1:*".
func (v *view) all() []item {
	b := v.box
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]item, len(b.msgs))
	for i, m := range b.msgs {
		out[i] = item{v.tracker.EncodeSeqNum(uint32(i + 1)), m}
	}
	return out
}

// staticSeqSet replaces "*" with the highest sequence number.
func staticSeqSet(set imap.SeqSet, max uint32) imap.SeqSet {
	out := make(imap.SeqSet, len(set))
	for i, r := range set {
		if r.Start == 0 {
			r.Start = max
		}
		if r.Stop == 0 {
			r.Stop = max
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	return out
}

// staticUIDSet replaces "*" with the highest UID in use.
func staticUIDSet(set imap.UIDSet, max uint32) imap.UIDSet {
	out := make(imap.UIDSet, len(set))
	for i, r := range set {
		if r.Start == 0 {
			r.Start = imap.UID(max)
		}
		if r.Stop == 0 {
			r.Stop = imap.UID(max)
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	return out
}

// clientMaxLocked is the highest sequence number the client knows a live
// message by: "*" in its sequence sets. The caller holds v.box.mu.
func (v *view) clientMaxLocked() uint32 {
	for i := len(v.box.msgs); i > 0; i-- {
		if seq := v.tracker.EncodeSeqNum(uint32(i)); seq != 0 {
			return seq
		}
	}
	return 0
}
