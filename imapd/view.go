package imapd

import (
	"slices"

	"github.com/emersion/go-imap/v2"
)

// view is the selected mailbox of a session: the sequence number -> UID
// map this client knows (sequence numbers are per session, RFC 9051
// §2.3.1.2) and the last MODSEQ of the mailbox's change log it has been
// told about. Everything else about the messages (flags, sizes, files) is
// read from storage, the one source of mailbox state.
type view struct {
	name     string // canonical mailbox name
	readOnly bool   // EXAMINE
	validity uint32 // UIDVALIDITY
	uidNext0 uint32 // UIDNEXT when selected
	// uids[i] is the UID of sequence number i+1, ascending.
	uids []uint32
	// modseq is the change-log position the client is up to date with.
	modseq uint64
	// searchRes is the SEARCHRES "$" result (RFC 5182), as UIDs.
	searchRes imap.UIDSet

	// gone are UIDs expunged from storage that the client has not been
	// told of yet (an EXPUNGE may not be sent during FETCH, STORE and
	// SEARCH, RFC 9051 §7.5.1): they keep their place in uids, so the
	// client's sequence numbers stay valid, until the next command that
	// allows EXPUNGE.
	gone map[uint32]bool
	// keywords are the keywords the client has been told of in FLAGS, by
	// their lower-cased form (RFC 3501 §7.2.6: a FETCH must not show a
	// keyword the last FLAGS did not list).
	keywords map[string]string
	// own are MODSEQs whose flags the client has seen already in a
	// command's reply (its own STORE, a FETCH that set \Seen): updates
	// skips them in the change log. See view.tell.
	own map[uint64]bool
	// recent are the messages \Recent in this session (RFC 3501 §2.3.2).
	recent imap.UIDSet
	// headers is the mailbox's header cache, shared by the sessions that
	// have it selected (headercache.go).
	headers headerCache

	box   *openBox
	boxes *openBoxes
}

// close releases the view (session end, SELECT of another mailbox).
func (v *view) close() {
	if v.box != nil {
		v.boxes.release(v.box)
		v.box = nil
	}
}

// tell records that a reply showed a message's flags as of modseq, so
// the change log's entry for it is not sent again as an unsolicited
// FETCH. STORE and FETCH call it for each FETCH response with FLAGS.
func (v *view) tell(modseq uint64) {
	if modseq > v.modseq {
		v.own[modseq] = true
	}
}

// isRecent reports whether the message is \Recent in this session.
func (v *view) isRecent(uid uint32) bool {
	return len(v.recent) > 0 && v.recent.Contains(imap.UID(uid))
}

// isGone reports whether the message was expunged and the client not yet
// told (FETCH of it answers nothing for it).
func (v *view) isGone(uid uint32) bool { return v.gone[uid] }

// item is one message a command names: its sequence number and UID.
type item struct {
	seq uint32
	uid uint32
}

// seqOf returns uid's sequence number, or 0 if the client does not know
// the message.
func (v *view) seqOf(uid uint32) uint32 {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// maxUID is the highest UID the client knows (0 if none).
func (v *view) maxUID() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// resolve returns the messages of a sequence or UID set in ascending
// order. "*" is the last message the client knows (RFC 9051 §9
// seq-number); UIDs the client does not know are left out. A sequence
// number above the message count is the caller's error to report (see
// seqInRange).
func (v *view) resolve(set imap.NumSet) []item {
	if imap.IsSearchRes(set) {
		set = v.searchRes // RFC 5182 §2.1: "$" is the saved result
	}
	var out []item
	switch set := set.(type) {
	case imap.SeqSet:
		n := uint32(len(v.uids))
		for _, r := range set {
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = n
			}
			if stop == 0 {
				stop = n
			}
			if start > stop {
				start, stop = stop, start
			}
			for seq := max(start, 1); seq <= min(stop, n); seq++ {
				out = append(out, item{seq, v.uids[seq-1]})
			}
		}
	case imap.UIDSet:
		last := v.maxUID()
		for _, r := range set {
			start, stop := uint32(r.Start), uint32(r.Stop)
			if start == 0 {
				start = last
			}
			if stop == 0 {
				stop = last
			}
			if start > stop {
				start, stop = stop, start
			}
			i, _ := slices.BinarySearch(v.uids, start)
			for ; i < len(v.uids) && v.uids[i] <= stop; i++ {
				out = append(out, item{uint32(i + 1), v.uids[i]})
			}
		}
	}
	slices.SortFunc(out, func(a, b item) int { return int(a.seq) - int(b.seq) })
	return slices.CompactFunc(out, func(a, b item) bool { return a.seq == b.seq })
}

// seqInRange reports whether every number of a sequence set is a valid
// sequence number (RFC 9051 §9: a number above the message count is an
// error; BAD, as Dovecot answers).
func (v *view) seqInRange(set imap.SeqSet) bool {
	n := uint32(len(v.uids))
	for _, r := range set {
		if r.Start > n || r.Stop > n {
			return false
		}
	}
	return true
}
