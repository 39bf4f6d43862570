package wire

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// readDigits reads exactly n digits.
func (r *Reader) readDigits(n int) (int, error) {
	v := 0
	for range n {
		c, err := r.peek()
		if err != nil {
			return 0, err
		}
		if c < '0' || c > '9' {
			return 0, syntaxErr("expected digit")
		}
		if _, err := r.readByte(); err != nil {
			return 0, err
		}
		v = v*10 + int(c-'0')
	}
	return v, nil
}

func (r *Reader) readMonth() (time.Month, error) {
	var b [3]byte
	for i := range b {
		c, err := r.readByte()
		if err != nil {
			return 0, err
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	for i, m := range months {
		if string(b[:]) == m {
			return time.Month(i + 1), nil
		}
	}
	return 0, syntaxErr("bad month")
}

// ReadDate reads a date (RFC 9051 §9 "date": date-text, optionally
// quoted), e.g. 1-Feb-1994, as midnight UTC of that day.
func (r *Reader) ReadDate() (time.Time, error) {
	quoted, err := r.MaybeByte('"')
	if err != nil {
		return time.Time{}, err
	}
	day, err := r.readNumber(99)
	if err != nil {
		return time.Time{}, err
	}
	if err := r.expect('-', "'-' in date"); err != nil {
		return time.Time{}, err
	}
	month, err := r.readMonth()
	if err != nil {
		return time.Time{}, err
	}
	if err := r.expect('-', "'-' in date"); err != nil {
		return time.Time{}, err
	}
	year, err := r.readDigits(4)
	if err != nil {
		return time.Time{}, err
	}
	if quoted {
		if err := r.expect('"', "'\"' after date"); err != nil {
			return time.Time{}, err
		}
	}
	t := time.Date(year, month, int(day), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(day) {
		return time.Time{}, syntaxErr("no such day")
	}
	return t, nil
}

// ReadDateTime reads a date-time (RFC 9051 §9), e.g.
// "17-Jul-1996 02:44:25 -0700", keeping its zone.
func (r *Reader) ReadDateTime() (time.Time, error) {
	var zero time.Time
	if err := r.expect('"', "date-time"); err != nil {
		return zero, err
	}
	var day int
	c, err := r.peek()
	if err != nil {
		return zero, err
	}
	if c == ' ' {
		if _, err := r.readByte(); err != nil {
			return zero, err
		}
		day, err = r.readDigits(1)
	} else {
		day, err = r.readDigits(2)
	}
	if err != nil {
		return zero, err
	}
	if err := r.expect('-', "'-' in date-time"); err != nil {
		return zero, err
	}
	month, err := r.readMonth()
	if err != nil {
		return zero, err
	}
	if err := r.expect('-', "'-' in date-time"); err != nil {
		return zero, err
	}
	year, err := r.readDigits(4)
	if err != nil {
		return zero, err
	}
	if err := r.ReadSP(); err != nil {
		return zero, err
	}
	var hms [3]int
	for i := range hms {
		if i > 0 {
			if err := r.expect(':', "':' in time"); err != nil {
				return zero, err
			}
		}
		if hms[i], err = r.readDigits(2); err != nil {
			return zero, err
		}
	}
	if err := r.ReadSP(); err != nil {
		return zero, err
	}
	sign, err := r.readByte()
	if err != nil {
		return zero, err
	}
	if sign != '+' && sign != '-' {
		return zero, syntaxErr("bad zone")
	}
	zh, err := r.readDigits(2)
	if err != nil {
		return zero, err
	}
	zm, err := r.readDigits(2)
	if err != nil {
		return zero, err
	}
	if err := r.expect('"', "'\"' after date-time"); err != nil {
		return zero, err
	}
	if hms[0] > 23 || hms[1] > 59 || hms[2] > 60 || zm > 59 {
		return zero, syntaxErr("bad time")
	}
	off := zh*3600 + zm*60
	if sign == '-' {
		off = -off
	}
	t := time.Date(year, month, day, hms[0], hms[1], hms[2], 0, time.FixedZone("", off))
	if t.Day() != day {
		return zero, syntaxErr("no such day")
	}
	return t, nil
}

var systemFlags = []imap.Flag{
	imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft, "\\Recent",
}

// ReadFlag reads a flag (RFC 9051 §9 "flag"): a system flag, returned in
// its canonical case, a flag-extension "\atom", or a keyword (atom). "\*"
// (flag-perm) is not a flag here. Whether \Recent or an unknown extension
// is allowed is the command's decision.
func (r *Reader) ReadFlag() (imap.Flag, error) {
	bs, err := r.MaybeByte('\\')
	if err != nil {
		return "", err
	}
	a, err := r.ReadAtom()
	if err != nil {
		return "", err
	}
	if !bs {
		return imap.Flag(a), nil
	}
	f := imap.Flag("\\" + a)
	for _, sf := range systemFlags {
		if strings.EqualFold(string(f), string(sf)) {
			return sf, nil
		}
	}
	return f, nil
}

// IsKeyword reports whether f is a keyword rather than a system flag or
// flag extension.
func IsKeyword(f imap.Flag) bool { return !strings.HasPrefix(string(f), "\\") }

// ReadFlagList reads a flag-list: "(" [flag *(SP flag)] ")".
func (r *Reader) ReadFlagList() ([]imap.Flag, error) {
	var flags []imap.Flag
	err := r.ReadList(func() error {
		f, err := r.ReadFlag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// ReadMailbox reads a mailbox name (RFC 9051 §9 "mailbox"). INBOX is
// matched case-insensitively and returned as "INBOX". Other names are
// decoded from modified UTF-7 (RFC 3501 §5.1.3) unless the reader is in
// UTF-8 mode, where they must be valid UTF-8.
func (r *Reader) ReadMailbox() (string, error) {
	s, err := r.ReadAString()
	if err != nil {
		return "", err
	}
	return r.mailboxName(s)
}

func (r *Reader) mailboxName(s string) (string, error) {
	if strings.EqualFold(s, "INBOX") {
		return "INBOX", nil
	}
	if r.utf8 {
		if !utf8.ValidString(s) {
			return "", syntaxErr("mailbox name is not UTF-8")
		}
		return s, nil
	}
	d, err := DecodeUTF7(s)
	if err != nil {
		return "", syntaxErr("mailbox name: %v", err)
	}
	return d, nil
}

func isListChar(c byte) bool { return isAStringChar(c) || c == '%' || c == '*' }

// ReadListMailbox reads a LIST pattern (RFC 9051 §9 "list-mailbox"):
// wildcards "%" and "*" are allowed unquoted. It is decoded like a mailbox
// name, except that INBOX is not folded (a pattern, not a name).
func (r *Reader) ReadListMailbox() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	var s string
	if c == '"' || c == '{' {
		s, err = r.ReadString()
	} else {
		s, err = r.readWhile(isListChar, "list-mailbox")
	}
	if err != nil {
		return "", err
	}
	if r.utf8 {
		if !utf8.ValidString(s) {
			return "", syntaxErr("pattern is not UTF-8")
		}
		return s, nil
	}
	d, err := DecodeUTF7(s)
	if err != nil {
		return "", syntaxErr("pattern: %v", err)
	}
	return d, nil
}

// readSeqNumber reads nz-number or "*" (returned as 0).
func (r *Reader) readSeqNumber() (uint32, error) {
	star, err := r.MaybeByte('*')
	if err != nil || star {
		return 0, err
	}
	return r.ReadNzNumber()
}

// ReadNumSet reads a sequence-set (RFC 9051 §9) as an imap.SeqSet, or as
// an imap.UIDSet if uid is set. "$" (RFC 5182 §2.1, SEARCHRES) gives
// imap.SearchRes(). "*" is kept as 0 in a range, per go-imap's convention.
func (r *Reader) ReadNumSet(uid bool) (imap.NumSet, error) {
	dollar, err := r.MaybeByte('$')
	if err != nil {
		return nil, err
	}
	if dollar {
		return imap.SearchRes(), nil
	}
	var seq imap.SeqSet
	var uids imap.UIDSet
	for {
		a, err := r.readSeqNumber()
		if err != nil {
			return nil, err
		}
		b := a
		colon, err := r.MaybeByte(':')
		if err != nil {
			return nil, err
		}
		if colon {
			if b, err = r.readSeqNumber(); err != nil {
				return nil, err
			}
		}
		// Order the range low:high; "*" (0) is the largest.
		if a == 0 || (b != 0 && a > b) {
			a, b = b, a
		}
		if a == 0 { // "*" or "*:*"
			b = 0
		}
		if uid {
			uids = append(uids, imap.UIDRange{Start: imap.UID(a), Stop: imap.UID(b)})
		} else {
			seq = append(seq, imap.SeqRange{Start: a, Stop: b})
		}
		comma, err := r.MaybeByte(',')
		if err != nil {
			return nil, err
		}
		if !comma {
			break
		}
	}
	if uid {
		return uids, nil
	}
	return seq, nil
}
