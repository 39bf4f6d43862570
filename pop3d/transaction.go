package pop3d

import (
	"context"

	"yubin/storage"
)

// message resolves a message-number argument (RFC 1939 §5): it answers
// -ERR itself and returns false when there is no such message or it is
// marked as deleted.
func (s *session) message(arg string) (int, bool) {
	n, ok := parseNumber(arg)
	if !ok {
		s.fail("Invalid message number")
		return 0, false
	}
	if n < 1 || n > len(s.drop.msgs) {
		s.reply("-ERR No such message")
		return 0, false
	}
	if s.drop.msgs[n-1].deleted {
		s.reply("-ERR Message %d already deleted", n)
		return 0, false
	}
	return n - 1, true
}

// handleStat: RFC 1939 §5 STAT.
func (s *session) handleStat(cmd command) {
	if len(cmd.Args) != 0 {
		s.fail("STAT takes no arguments")
		return
	}
	n, size := s.drop.stat()
	s.reply("+OK %d %d", n, size)
}

// handleList: RFC 1939 §5 LIST [msg].
func (s *session) handleList(cmd command) {
	switch len(cmd.Args) {
	case 0:
		n, size := s.drop.stat()
		s.reply("+OK %d messages (%d octets)", n, size)
		for i, m := range s.drop.msgs {
			if !m.deleted {
				s.reply("%d %d", i+1, m.size)
			}
		}
		s.reply(".")
	case 1:
		if i, ok := s.message(cmd.Args[0]); ok {
			s.reply("+OK %d %d", i+1, s.drop.msgs[i].size)
		}
	default:
		s.fail("Usage: LIST [msg]")
	}
}

// handleUidl: RFC 1939 §7 UIDL [msg].
func (s *session) handleUidl(cmd command) {
	switch len(cmd.Args) {
	case 0:
		s.reply("+OK Unique-id listing follows")
		for i, m := range s.drop.msgs {
			if !m.deleted {
				s.reply("%d %s", i+1, s.drop.uidl(i))
			}
		}
		s.reply(".")
	case 1:
		if i, ok := s.message(cmd.Args[0]); ok {
			s.reply("+OK %d %s", i+1, s.drop.uidl(i))
		}
	default:
		s.fail("Usage: UIDL [msg]")
	}
}

// handleRetr: RFC 1939 §5 RETR msg.
func (s *session) handleRetr(cmd command) {
	if len(cmd.Args) != 1 {
		s.fail("Usage: RETR msg")
		return
	}
	if i, ok := s.message(cmd.Args[0]); ok {
		s.sendMessage(i, -1)
	}
}

// handleTop: RFC 1939 §7 TOP msg n.
func (s *session) handleTop(cmd command) {
	if len(cmd.Args) != 2 {
		s.fail("Usage: TOP msg lines")
		return
	}
	lines, ok := parseNumber(cmd.Args[1])
	if !ok {
		s.fail("Invalid number of lines")
		return
	}
	if i, ok := s.message(cmd.Args[0]); ok {
		s.sendMessage(i, lines)
	}
}

// sendMessage sends message i (all of it, or its header and bodyLines
// lines of body) as a multi-line response (RFC 1939 §3).
func (s *session) sendMessage(i, bodyLines int) {
	m := s.drop.msgs[i]
	f, _, err := s.drop.acct.Open(s.ctx, storage.Inbox, m.uid)
	if err != nil {
		if isNotFound(err) {
			s.reply("-ERR Message %d was removed by another session", i+1)
			return
		}
		s.log.Error("open message", "uid", m.uid, "err", err)
		s.reply("-ERR [SYS/TEMP] Cannot read message %d", i+1)
		return
	}
	defer f.Close()
	if bodyLines < 0 {
		s.reply("+OK %d octets", m.size)
	} else {
		s.reply("+OK Top of message follows")
	}
	n, err := copyMessage(s.w, f, bodyLines, true)
	if err != nil {
		// The client already has +OK and part of the message; the only
		// honest way out is to close without the terminating dot.
		s.log.Error("send message", "uid", m.uid, "err", err)
		s.closing = true
		return
	}
	if bodyLines < 0 && n != m.size {
		s.log.Warn("message size changed since login", "uid", m.uid, "listed", m.size, "sent", n)
	}
	s.reply(".")
}

// handleDele: RFC 1939 §5 DELE msg. The message is only marked; it is
// removed at QUIT.
func (s *session) handleDele(cmd command) {
	if len(cmd.Args) != 1 {
		s.fail("Usage: DELE msg")
		return
	}
	if i, ok := s.message(cmd.Args[0]); ok {
		s.drop.msgs[i].deleted = true
		s.reply("+OK Message %d deleted", i+1)
	}
}

// handleNoop: RFC 1939 §5 NOOP.
func (s *session) handleNoop(cmd command) {
	if len(cmd.Args) != 0 {
		s.fail("NOOP takes no arguments")
		return
	}
	s.reply("+OK")
}

// handleRset: RFC 1939 §5 RSET unmarks every deleted message.
func (s *session) handleRset(cmd command) {
	if len(cmd.Args) != 0 {
		s.fail("RSET takes no arguments")
		return
	}
	for i := range s.drop.msgs {
		s.drop.msgs[i].deleted = false
	}
	n, size := s.drop.stat()
	s.reply("+OK Maildrop has %d messages (%d octets)", n, size)
}

// handleQuit ends the session. In TRANSACTION it enters the UPDATE state
// and removes the messages marked as deleted (RFC 1939 §6); this is the
// only place where POP3 deletes anything.
func (s *session) handleQuit(cmd command) {
	s.closing = true
	if s.state != stateTransaction {
		s.reply("+OK Yubin POP3 server signing off")
		return
	}
	s.state = stateUpdate
	uids := s.drop.deletedUIDs()
	if len(uids) > 0 {
		// The client asked for it: finish even if Close comes meanwhile.
		ctx := context.WithoutCancel(s.ctx)
		if err := s.drop.acct.Expunge(ctx, storage.Inbox, uids); err != nil {
			s.log.Error("expunge", "err", err, "count", len(uids))
			s.reply("-ERR [SYS/TEMP] Some deleted messages not removed")
			return
		}
		s.log.Info("deleted", "count", len(uids))
	}
	n, _ := s.drop.stat()
	s.reply("+OK Yubin POP3 server signing off (%d messages left)", n)
}
