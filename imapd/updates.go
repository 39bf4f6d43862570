package imapd

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// A session learns what changed in its mailbox from storage's change log
// (storage/modseq.go), the one source of mailbox state: updates reads the
// log from the position the client is up to date with (view.modseq) and
// tells the client, then moves the position. Nothing about the messages
// is kept in memory beyond the sequence number -> UID map.

// mailboxFlags are the flags FLAGS lists besides the keywords in use.
var mailboxFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft, imap.FlagForwarded}

// condstore reports whether the client enabled CONDSTORE (RFC 7162
// §3.1: ENABLE, SELECT (CONDSTORE) or a command with a CONDSTORE
// modifier): FETCH responses then carry MODSEQ.
func (s *session) condstore() bool { return s.enabled["CONDSTORE"] }

// qresync reports whether the client enabled QRESYNC (RFC 7162 §3.2.3):
// VANISHED replaces EXPUNGE.
func (s *session) qresync() bool { return s.enabled["QRESYNC"] }

// delta is what changed in the selected mailbox since the client's
// position.
type delta struct {
	gone  []uint32          // expunged, known to the client
	added []uint32          // new, ascending
	kws   []string          // the new messages' keywords
	flags []storage.Message // flags changed by others, for messages the client knows
	top   uint64            // the log position after these changes
}

// updates sends the untagged responses due (EXISTS, RECENT, EXPUNGE or
// VANISHED, FETCH FLAGS, FLAGS) from the change log; EXPUNGE only if
// allowExpunge (otherwise the expunged messages keep their sequence
// numbers until a command that allows it).
func (s *session) updates(allowExpunge bool) error {
	v := s.sel
	if v == nil {
		return nil
	}
	ctx := s.ctx()
	// One indexed row when nothing changed.
	p, err := s.acct.Poll(ctx, v.name, v.modseq)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // deleted under the session: nothing more to tell
	}
	if (err == nil || errors.Is(err, storage.ErrChangesExpired)) && p.UIDValidity != v.validity {
		// The index was rebuilt or the mailbox made anew: the client's
		// UIDs mean nothing any more (RFC 3501 §2.3.1.1).
		s.w.Status("", imap.StatusResponseTypeBye, "", "Mailbox UIDVALIDITY changed; select it again")
		s.state = stateLogout
		return nil
	}
	var d delta
	switch {
	case errors.Is(err, storage.ErrChangesExpired):
		if d, err = s.fullDelta(v, p.HighestModSeq); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(p.Changes) == 0:
		v.modseq = max(v.modseq, p.HighestModSeq)
		if allowExpunge {
			s.flushGone(v)
		}
		return nil
	default:
		d = v.delta(p.Changes, p.HighestModSeq)
	}
	s.emit(v, d, allowExpunge)
	return nil
}

// delta sorts the log's changes after v.modseq into what the client is
// to be told.
func (v *view) delta(changes []storage.Change, top uint64) delta {
	d := delta{top: max(top, v.modseq)}
	last := v.maxUID()
	for _, c := range changes {
		d.top = max(d.top, c.ModSeq)
		switch c.Kind {
		case storage.MessageExpunged:
			if !v.gone[c.UID] && v.seqOf(c.UID) != 0 {
				d.gone = append(d.gone, c.UID)
			}
		case storage.MessageAdded:
			if c.UID > last {
				d.added = append(d.added, c.UID)
				d.kws = appendKeywords(d.kws, c.Flags)
				last = c.UID
			}
		case storage.MessageFlags:
			if v.own[c.ModSeq] || v.gone[c.UID] || v.seqOf(c.UID) == 0 {
				continue
			}
			d.flags = append(d.flags, c.Message)
		}
	}
	return d
}

// fullDelta compares the whole mailbox with the view when the log no
// longer reaches back to the client's position (storage/modseq.go
// ErrChangesExpired): messages missing are gone, those above the view's
// last UID are new, those whose MODSEQ is above the view's position
// changed. hm is the HIGHESTMODSEQ read before the messages.
func (s *session) fullDelta(v *view, hm uint64) (delta, error) {
	msgs, err := s.acct.Messages(s.ctx(), v.name)
	if err != nil {
		return delta{}, err
	}
	d := delta{top: hm}
	last := v.maxUID()
	present := make(map[uint32]bool, len(msgs))
	for _, m := range msgs {
		present[m.UID] = true
		switch {
		case m.UID > last:
			d.added = append(d.added, m.UID)
			d.kws = appendKeywords(d.kws, m.Flags)
		case m.ModSeq > v.modseq && !v.own[m.ModSeq] && v.seqOf(m.UID) != 0:
			d.flags = append(d.flags, m)
		}
	}
	for _, u := range v.uids {
		if !present[u] && !v.gone[u] {
			d.gone = append(d.gone, u)
		}
	}
	return d, nil
}

// emit tells the client about d and moves the view to d.top.
func (s *session) emit(v *view, d delta, allowExpunge bool) {
	if len(d.gone) > 0 {
		if v.gone == nil {
			v.gone = map[uint32]bool{}
		}
		for _, u := range d.gone {
			v.gone[u] = true
		}
		if v.box != nil {
			v.box.headers.drop(d.gone)
		}
	}
	if allowExpunge {
		s.flushGone(v)
	}
	if len(d.added) > 0 {
		// A new message may bring a keyword (APPEND with flags, a copy):
		// FLAGS first (RFC 3501 §7.2.6).
		s.announceKeywords(v, d.kws)
		v.uids = append(v.uids, d.added...)
		s.w.Untagged().Number(uint32(len(v.uids))).SP().Atom("EXISTS").CRLF()
		if !s.rev2() {
			if !v.readOnly {
				first, last, err := s.acct.ClaimRecent(s.ctx(), v.name, d.added[len(d.added)-1])
				if err != nil {
					s.log.Warn("claim recent", "mailbox", v.name, "err", err)
				} else if first != 0 {
					v.recent.AddRange(imap.UID(first), imap.UID(last))
				}
			}
			s.w.Untagged().Number(v.recentCount()).SP().Atom("RECENT").CRLF()
		}
	}
	if len(d.flags) > 0 {
		var all []string
		for _, m := range d.flags {
			all = append(all, m.Flags...)
		}
		s.announceKeywords(v, all)
		for _, m := range d.flags {
			s.writeFetchFlags(v, v.seqOf(m.UID), m.UID, m.Flags, m.ModSeq, true)
		}
	}
	// After an index rebuild the log may start below the old position:
	// the view follows the mailbox.
	v.modseq = d.top
	for ms := range v.own {
		if ms <= v.modseq {
			delete(v.own, ms)
		}
	}
}

// flushGone sends the expunges held back: EXPUNGE with the client's
// sequence numbers, highest first so none shifts before it is sent, or
// one VANISHED for a QRESYNC client (RFC 7162 §3.2.10), and drops them
// from the view.
func (s *session) flushGone(v *view) {
	if len(v.gone) == 0 {
		return
	}
	if s.qresync() {
		uids := make([]imap.UID, 0, len(v.gone))
		for u := range v.gone {
			uids = append(uids, imap.UID(u))
		}
		s.w.Vanished(false, wire.CompactUIDs(uids))
	} else {
		for i := len(v.uids) - 1; i >= 0; i-- {
			if v.gone[v.uids[i]] {
				s.w.Untagged().Number(uint32(i + 1)).SP().Atom("EXPUNGE").CRLF()
			}
		}
	}
	v.uids = slices.DeleteFunc(v.uids, func(u uint32) bool { return v.gone[u] })
	v.gone = nil
}

// appendKeywords adds the keywords of flags to kws.
func appendKeywords(kws, flags []string) []string {
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) {
			kws = append(kws, f)
		}
	}
	return kws
}

// recentCount is the number of messages in the view that are \Recent in
// this session.
func (v *view) recentCount() uint32 {
	var n int
	for _, r := range v.recent {
		i, _ := slices.BinarySearch(v.uids, uint32(r.Start))
		j, _ := slices.BinarySearch(v.uids, uint32(r.Stop)+1)
		n += j - i
	}
	return uint32(n)
}

// announceKeywords sends FLAGS (and PERMANENTFLAGS) when flags hold a
// keyword the client has not been told of: a FETCH must not show one the
// last FLAGS did not list (RFC 3501 §7.2.6). Every command that writes
// FETCH FLAGS calls it first.
func (s *session) announceKeywords(v *view, flags []string) {
	fresh := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		k := strings.ToLower(f)
		if _, ok := v.keywords[k]; !ok {
			v.keywords[k] = f
			fresh = true
		}
	}
	if fresh {
		s.writeMailboxFlags(v)
	}
}

// writeMailboxFlags sends FLAGS, the system flags and every keyword the
// client knows of, and for a read-write mailbox PERMANENTFLAGS with \*
// (keywords can be created).
func (s *session) writeMailboxFlags(v *view) {
	flags := slices.Clone(mailboxFlags)
	var kws []string
	for k, f := range v.keywords {
		if !slices.ContainsFunc(mailboxFlags, func(m imap.Flag) bool { return strings.EqualFold(string(m), k) }) {
			kws = append(kws, f)
		}
	}
	slices.Sort(kws)
	for _, k := range kws {
		flags = append(flags, imap.Flag(k))
	}
	s.w.Untagged().Atom("FLAGS").SP().Flags(flags).CRLF()
	if !v.readOnly {
		var b strings.Builder
		b.WriteString("PERMANENTFLAGS (")
		for _, f := range flags {
			b.WriteString(string(f))
			b.WriteByte(' ')
		}
		b.WriteString(`\*)`)
		s.w.Status("", imap.StatusResponseTypeOK, imap.ResponseCode(b.String()), "Flags permitted")
	}
}

// writeFetchFlags writes "* seq FETCH (UID n FLAGS (...) [MODSEQ (m)])",
// \Recent added for a recent message. flagsItem false leaves FLAGS out
// (STORE .SILENT with CONDSTORE). UID goes first, as the old server wrote
// it and clients' transcripts show it.
func (s *session) writeFetchFlags(v *view, seq, uid uint32, flags []string, modseq uint64, flagsItem bool) {
	s.w.Untagged().Number(seq).SP().Atom("FETCH").SP().BeginList()
	s.w.Atom("UID").SP().Number(uid)
	if flagsItem {
		fl := imapFlags(flags)
		if !s.rev2() && v.isRecent(uid) {
			fl = append(fl, `\Recent`)
		}
		s.w.SP().Atom("FLAGS").SP().Flags(fl)
	}
	if s.condstore() {
		s.w.SP().FetchModSeq(modseq)
	}
	s.w.EndList().CRLF()
}

// refresh indexes files other programs added or removed (storage
// Account.Refresh), so they reach the change log.
func (s *session) refresh() {
	if s.sel == nil {
		return
	}
	if _, err := s.acct.Refresh(s.ctx(), s.sel.name); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.Warn("refresh", "mailbox", s.sel.name, "err", err)
	}
}
