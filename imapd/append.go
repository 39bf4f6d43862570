package imapd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// systemFlags are the flags a client may set (RFC 9051 §2.3.2); other
// "\" names are refused, since storage could not keep them. \Recent is
// accepted and ignored (it is a session's property).
var systemFlags = []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, `\Recent`}

// checkFlags refuses system flags the server does not know (RFC 9051
// §2.3.2: only those defined by a standard; the grammar's flag-extension
// is for future ones).
func checkFlags(flags []imap.Flag) error {
	for _, f := range flags {
		if wire.IsKeyword(f) || containsFold(systemFlags, string(f)) {
			continue
		}
		return bad(imap.ResponseCodeClientBug, fmt.Sprintf("Unknown system flag %s", truncate(string(f))))
	}
	return nil
}

// cmdAppend implements APPEND (RFC 9051 §6.3.12) with UIDPLUS (RFC 4315
// APPENDUID), APPENDLIMIT (RFC 7889), LITERAL+ and MULTIAPPEND (RFC
// 3502). Each literal streams from the connection into storage (a file
// in tmp/, fsynced, then renamed), never into memory. A literal cut short
// stores nothing. A MULTIAPPEND is all or nothing: when one message
// fails, those stored before it are removed again.
func (s *session) cmdAppend(r *request) error {
	name, err := s.r.ReadMailboxArg()
	if err != nil {
		return err
	}
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	ctx := s.ctx()
	// A refusal known before the data (a missing mailbox) is answered
	// after the literals were read and dropped: the client sends them
	// anyway with LITERAL+.
	var refusal error
	canon, err := storage.ValidMailboxName(name)
	var validity uint32
	if err != nil {
		refusal = err
	} else if validity, _, err = s.acct.UIDs(ctx, canon); errors.Is(err, storage.ErrNotFound) {
		refusal = no(imap.ResponseCodeTryCreate, "No such mailbox")
	} else if err != nil {
		refusal = err
	}
	var uids []uint32
	for {
		m, err := s.r.ReadAppendMessage(int64(s.srv.opts.AppendLimit))
		if err != nil {
			s.unappend(canon, uids)
			return s.appendReadError(err)
		}
		if refusal == nil {
			refusal = checkFlags(m.Flags)
		}
		if refusal != nil {
			if _, err := io.Copy(io.Discard, m.Literal); err != nil {
				return err
			}
		} else {
			uid, err := s.appendOne(canon, m)
			if err != nil {
				s.unappend(canon, uids)
				uids = nil
				if isIOError(err) {
					return err
				}
				refusal = err
			} else {
				uids = append(uids, uid)
			}
		}
		more, err := s.r.MaybeSP()
		if err != nil {
			s.unappend(canon, uids)
			return err
		}
		if !more {
			break
		}
	}
	if err := s.r.ReadCRLF(); err != nil {
		s.unappend(canon, uids)
		return err
	}
	if refusal != nil {
		s.unappend(canon, uids)
		return s.fail("append", refusal)
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return ok(imap.ResponseCode(fmt.Sprintf("APPENDUID %d %s", validity, set)), "APPEND completed")
}

// appendReadError answers a message that could not be read: a literal
// over APPENDLIMIT is NO [TOOBIG] (RFC 7889 §4) once its data, if the
// client sends it anyway, is discarded.
func (s *session) appendReadError(err error) error {
	var se *wire.SyntaxError
	if !errors.As(err, &se) || se.Code != "TOOBIG" {
		return err
	}
	if serr := s.r.Skip(); serr != nil {
		return serr // fatal: BYE
	}
	return s.fail("append", no(imap.ResponseCodeTooBig, se.Msg))
}

// appendOne stores one message.
func (s *session) appendOne(mailbox string, m *wire.AppendMessage) (uint32, error) {
	lit := &countingReader{r: m.Literal}
	date := m.Time
	if date.IsZero() {
		date = time.Now()
	}
	msg, err := s.acct.Deliver(s.ctx(), mailbox, bufio.NewReaderSize(lit, 64<<10), storage.DeliverOptions{
		Flags:        storageFlags(m.Flags),
		InternalDate: date,
		EnforceQuota: true,
	})
	if lit.err != nil && lit.n < m.Literal.Size {
		// The connection ended inside the literal: Deliver stored
		// nothing, and nobody is left to answer.
		s.log.Info("append cut short", "mailbox", mailbox, "size", m.Literal.Size, "received", lit.n, "err", lit.err)
		return 0, lit.err
	}
	if err != nil {
		// Storage gave up before the end (quota, disk): the rest of the
		// literal is still to come.
		if _, derr := io.Copy(io.Discard, m.Literal); derr != nil {
			return 0, derr
		}
		return 0, err
	}
	s.log.Info("appended", "mailbox", mailbox, "uid", msg.UID, "size", msg.Size)
	return msg.UID, nil
}

// unappend removes the messages a failed MULTIAPPEND stored before the
// failure (RFC 3502 §3: none of them may be appended).
func (s *session) unappend(mailbox string, uids []uint32) {
	if len(uids) == 0 {
		return
	}
	if err := s.acct.Expunge(s.ctx(), mailbox, uids); err != nil {
		s.log.Error("multiappend: removing the messages of a failed APPEND", "mailbox", mailbox, "err", err)
	}
}

// countingReader counts what it reads and keeps the first error that is
// not io.EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
