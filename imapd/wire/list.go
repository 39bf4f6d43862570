package wire

import (
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// ListArgs is a parsed LIST command (RFC 9051 §6.3.9; RFC 5258
// LIST-EXTENDED; RFC 6154 §5 SPECIAL-USE; RFC 5819 LIST-STATUS).
type ListArgs struct {
	// Ref is the reference name, decoded like a mailbox name but not
	// folded to INBOX (it is a prefix).
	Ref string
	// Patterns holds one pattern, or several from "(" pat *(SP pat) ")",
	// decoded. "%" and "*" are kept as wildcards.
	Patterns []string
	// Options holds the selection and return options. The SUBSCRIBED
	// selection option sets ReturnSubscribed too (RFC 5258 §3.1), the
	// SPECIAL-USE one ReturnSpecialUse (RFC 6154 §8.4).
	Options imap.ListOptions
	// Extended is set when selection options, several patterns or return
	// options were given (RFC 5258 §3): the server must then not treat an
	// empty pattern as the delimiter request, and may send extended data
	// (CHILDINFO, \NonExistent).
	Extended bool
}

// ReadListArgs reads the arguments of LIST from the SP after the command
// name up to, not including, the CRLF (RFC 5258 §6):
//
//	[SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
//
// Unknown options are a *SyntaxError (RFC 5258 §3: BAD), and so is
// RECURSIVEMATCH without SUBSCRIBED (RFC 5258 §3.1, §6). An option given
// twice counts once.
func (r *Reader) ReadListArgs() (*ListArgs, error) {
	l := &ListArgs{}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		l.Extended = true
		if err := r.readListSelect(&l.Options); err != nil {
			return nil, err
		}
		if err := r.ReadSP(); err != nil {
			return nil, err
		}
	}
	if l.Ref, err = r.readRefName(); err != nil {
		return nil, err
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	if c, err = r.peek(); err != nil {
		return nil, err
	}
	if c == '(' {
		l.Extended = true
		err = r.ReadList(func() error {
			p, err := r.ReadListMailbox()
			l.Patterns = append(l.Patterns, p)
			return err
		})
		if err == nil && len(l.Patterns) == 0 {
			err = syntaxErr("empty pattern list")
		}
	} else {
		var p string
		p, err = r.ReadListMailbox()
		l.Patterns = append(l.Patterns, p)
	}
	if err != nil {
		return nil, err
	}
	sp, err := r.MaybeSP()
	if err != nil {
		return nil, err
	}
	if !sp {
		return l, nil
	}
	ret, err := r.ReadAtom()
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(ret, "RETURN") {
		return nil, syntaxErr("expected RETURN")
	}
	if err := r.ReadSP(); err != nil {
		return nil, err
	}
	l.Extended = true
	if err := r.readListReturn(&l.Options); err != nil {
		return nil, err
	}
	return l, nil
}

// readRefName reads a LIST or LSUB reference name: an astring decoded
// like a mailbox name, INBOX not folded.
func (r *Reader) readRefName() (string, error) {
	s, err := r.ReadAString()
	if err != nil {
		return "", err
	}
	if r.utf8 {
		if !utf8.ValidString(s) {
			return "", syntaxErr("reference name is not UTF-8")
		}
		return s, nil
	}
	d, err := DecodeUTF7(s)
	if err != nil {
		return "", syntaxErr("reference name: %v", err)
	}
	return d, nil
}

// readListSelect reads list-select-opts (RFC 5258 §6, RFC 6154 §6).
func (r *Reader) readListSelect(o *imap.ListOptions) error {
	err := r.ReadList(func() error {
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.SelectSubscribed = true
			o.ReturnSubscribed = true // RFC 5258 §3.1: implies the return option
		case "REMOTE":
			o.SelectRemote = true
		case "RECURSIVEMATCH":
			o.SelectRecursiveMatch = true
		case "SPECIAL-USE":
			o.SelectSpecialUse = true
			o.ReturnSpecialUse = true // RFC 6154 §8.4: implies the return option
		default:
			return syntaxErr("unknown LIST selection option %q", truncate(a))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.SelectRecursiveMatch && !o.SelectSubscribed {
		// RFC 5258 §3.1, §6: RECURSIVEMATCH modifies a base option, and
		// SUBSCRIBED is the only one; REMOTE and SPECIAL-USE (RFC 6154
		// §6) are independent options.
		return syntaxErr("RECURSIVEMATCH needs SUBSCRIBED")
	}
	return nil
}

// readListReturn reads the list after RETURN SP (RFC 5258 §6, RFC 5819
// §4 STATUS, RFC 6154 §6 SPECIAL-USE).
func (r *Reader) readListReturn(o *imap.ListOptions) error {
	return r.ReadList(func() error {
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.ReturnSubscribed = true
		case "CHILDREN":
			o.ReturnChildren = true
		case "SPECIAL-USE":
			o.ReturnSpecialUse = true
		case "STATUS":
			if err := r.ReadSP(); err != nil {
				return err
			}
			st, err := r.ReadStatusItems()
			if err != nil {
				return err
			}
			if o.ReturnStatus != nil {
				mergeStatusOptions(o.ReturnStatus, st)
			} else {
				o.ReturnStatus = st
			}
		default:
			return syntaxErr("unknown LIST return option %q", truncate(a))
		}
		return nil
	})
}

func mergeStatusOptions(a, b *imap.StatusOptions) {
	a.NumMessages = a.NumMessages || b.NumMessages
	a.NumRecent = a.NumRecent || b.NumRecent
	a.UIDNext = a.UIDNext || b.UIDNext
	a.UIDValidity = a.UIDValidity || b.UIDValidity
	a.NumUnseen = a.NumUnseen || b.NumUnseen
	a.NumDeleted = a.NumDeleted || b.NumDeleted
	a.Size = a.Size || b.Size
	a.AppendLimit = a.AppendLimit || b.AppendLimit
	a.DeletedStorage = a.DeletedStorage || b.DeletedStorage
	a.HighestModSeq = a.HighestModSeq || b.HighestModSeq
}

// ReadLSubArgs reads the arguments of LSUB from the SP after the command
// name up to, not including, the CRLF (RFC 3501 §6.3.9):
// SP mailbox SP list-mailbox.
func (r *Reader) ReadLSubArgs() (ref, pattern string, err error) {
	if err := r.ReadSP(); err != nil {
		return "", "", err
	}
	if ref, err = r.readRefName(); err != nil {
		return "", "", err
	}
	if err := r.ReadSP(); err != nil {
		return "", "", err
	}
	if pattern, err = r.ReadListMailbox(); err != nil {
		return "", "", err
	}
	return ref, pattern, nil
}

// List writes a LIST or LSUB response (kind "LIST" or "LSUB"; RFC 9051
// §7.3.1, RFC 3501 §7.2.3, RFC 5258 §6):
//
//	S: * LIST (\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))
//
// attrs are written as they are (\Noselect, \HasChildren, \Sent, ...).
// delim 0 writes NIL (a flat namespace). name is written in modified
// UTF-7 (or UTF-8 after SetUTF8), quoted or as a literal; INBOX as an
// atom. childInfo, when not empty, adds the CHILDINFO extended item with
// the selection criteria that matched a child (RFC 5258 §3.5, only after
// RECURSIVEMATCH); oldName, when not empty, adds OLDNAME (RFC 9051
// §6.3.9.7, for a renamed mailbox).
func (w *Writer) List(kind string, attrs []string, delim byte, name string, childInfo []string, oldName string) *Writer {
	w.Untagged().Atom(kind).SP().BeginList()
	for i, a := range attrs {
		if i > 0 {
			w.SP()
		}
		w.Atom(a)
	}
	w.EndList().SP()
	if delim == 0 {
		w.NIL()
	} else {
		w.Quoted(string([]byte{delim}))
	}
	w.SP().listMailbox(name)
	if len(childInfo) > 0 || oldName != "" {
		w.SP().BeginList()
		if len(childInfo) > 0 {
			w.Quoted("CHILDINFO").SP().BeginList()
			for i, c := range childInfo {
				if i > 0 {
					w.SP()
				}
				w.String(c)
			}
			w.EndList()
		}
		if oldName != "" {
			if len(childInfo) > 0 {
				w.SP()
			}
			w.Quoted("OLDNAME").SP().BeginList().listMailbox(oldName).EndList()
		}
		w.EndList()
	}
	return w.CRLF()
}

// listMailbox writes a mailbox name as a string (never an atom, as most
// servers do in LIST), INBOX excepted.
func (w *Writer) listMailbox(name string) *Writer {
	if strings.EqualFold(name, "INBOX") {
		return w.raw("INBOX")
	}
	if !w.utf8 {
		name = EncodeUTF7(name)
	}
	return w.String(name)
}
