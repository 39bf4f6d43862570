package imapd

// \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session,
// the first to be told of it. Until storage keeps the mark in the index
// (Account.ClaimRecent, branch imapstore), the mark lives here, per
// mailbox and per process: after a restart every message is recent to
// the first session again, as for a rebuilt index. IMAP4rev2 has no
// \Recent (RFC 9051 §2.3.2); EXAMINE claims nothing (RFC 3501 §6.3.2).

// recentMark is the \Recent high-water mark of one mailbox of one
// UIDVALIDITY (a mailbox created again starts over).
type recentMark struct{ validity, mark uint32 }

// claimRecent makes the caller the session that sees UIDs (mark, upTo]
// as \Recent and raises the mark; it returns them as first..last, or
// 0, 0 when there are none. Same contract as storage's ClaimRecent.
func (s *session) claimRecent(mailbox string, validity, upTo uint32) (first, last uint32) {
	o := s.srv.boxes
	k := boxKey{s.user.String(), mailbox}
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.recentMarks[k]
	if m.validity != validity {
		m = recentMark{validity: validity}
	}
	if upTo <= m.mark {
		return 0, 0
	}
	first = m.mark + 1
	o.recentMarks[k] = recentMark{validity, upTo}
	return first, upTo
}

// peekRecent is the first UID still recent to the next claimer, for
// EXAMINE, which counts recent messages without claiming them.
func (s *session) peekRecent(mailbox string, validity uint32) uint32 {
	o := s.srv.boxes
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := o.recentMarks[boxKey{s.user.String(), mailbox}]; m.validity == validity {
		return m.mark + 1
	}
	return 1
}
