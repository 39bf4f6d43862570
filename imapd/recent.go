package imapd

import (
	"context"

	"github.com/emersion/go-imap/v2"
)

// \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session,
// the first to be told of it. Storage keeps the mark per mailbox
// (Account.ClaimRecent): SELECT claims the messages it lists, each
// update that brings new messages claims those. EXAMINE claims nothing
// (RFC 3501 §6.3.2) and shows as recent the messages nobody claimed yet.
// IMAP4rev2 has no \Recent (RFC 9051 §2.3.2).

// selectRecent fills v.recent when the view is built.
func (s *session) selectRecent(v *view) error {
	ctx := s.ctx()
	if v.readOnly {
		unclaimed, err := s.acct.Unclaimed(ctx, v.name)
		if err != nil {
			return err
		}
		// The unclaimed messages are those above the mark: the last
		// unclaimed of the mailbox.
		if n := min(unclaimed, len(v.uids)); n > 0 {
			v.recent.AddRange(imap.UID(v.uids[len(v.uids)-n]), imap.UID(v.maxUID()))
		}
		return nil
	}
	first, last, err := s.acct.ClaimRecent(ctx, v.name, v.maxUID())
	if err != nil {
		return err
	}
	if first != 0 {
		v.recent.AddRange(imap.UID(first), imap.UID(last))
	}
	return nil
}

// statusRecent counts the messages of mailbox still \Recent to the next
// session that selects it (STATUS RECENT, RFC 3501 §6.3.10). It claims
// nothing.
func (s *session) statusRecent(ctx context.Context, mailbox string) (uint32, error) {
	st, err := s.acct.Status(ctx, mailbox)
	return uint32(st.Recent), err
}
