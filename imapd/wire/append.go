package wire

import (
	"time"

	"github.com/emersion/go-imap/v2"
)

// AppendMessage is one message of an APPEND command.
type AppendMessage struct {
	Flags []imap.Flag
	// Time is the optional date-time argument (zero when absent).
	Time time.Time
	// Literal streams the message; it must be read before the next call on
	// the Reader.
	Literal *Literal
}

// ReadAppendMessage reads one append-message after the mailbox name and
// its SP: [flag-list SP] [date-time SP] literal (RFC 9051 §6.3.12, §9
// "append"; literal8 allowed, RFC 3516 §4.4). A literal over max is a
// *SyntaxError with code TOOBIG; for a synchronising literal no "+" has
// been sent, so the client sends nothing more. With MULTIAPPEND (RFC
// 3502) the caller reads the literal, then calls MaybeSP and, if it
// returns true, ReadAppendMessage again; otherwise ReadCRLF.
func (r *Reader) ReadAppendMessage(max int64) (*AppendMessage, error) {
	m := &AppendMessage{}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		if m.Flags, err = r.ReadFlagList(); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
		if c, err = r.peek(); err != nil {
			return nil, err
		}
	}
	if c == '"' {
		if m.Time, err = r.ReadDateTime(); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
	}
	if m.Literal, err = r.ReadLiteral(max); err != nil {
		return nil, err
	}
	return m, nil
}
