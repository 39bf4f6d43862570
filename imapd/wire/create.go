package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// CreateParams holds the parameters of CREATE (RFC 4466 §2.2
// create-params).
type CreateParams struct {
	// SpecialUse is the USE parameter (RFC 6154 §3, CREATE-SPECIAL-USE):
	// the special-use attributes asked for the new mailbox, the known ones
	// in their canonical case (\All \Archive \Drafts \Flagged \Junk \Sent
	// \Trash), others as sent; the server answers one it does not support
	// with NO [USEATTR]. UseGiven tells "USE ()" from no USE at all.
	SpecialUse []imap.MailboxAttr
	UseGiven   bool
}

var specialUses = []imap.MailboxAttr{
	imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts, imap.MailboxAttrFlagged,
	imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash,
}

// ReadCreateArgs reads the arguments of CREATE from the SP after the
// command name up to, not including, the CRLF (RFC 9051 §6.3.4, RFC 4466
// §2.2, RFC 6154 §6):
//
//	SP mailbox [SP "(" create-param *(SP create-param) ")"]
//	create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"
//
// Other create parameters are a *SyntaxError.
func (r *Reader) ReadCreateArgs() (string, *CreateParams, error) {
	name, err := r.ReadMailboxArg()
	if err != nil {
		return "", nil, err
	}
	p := &CreateParams{}
	sp, err := r.MaybeSP()
	if err != nil {
		return "", nil, err
	}
	if !sp {
		return name, p, nil
	}
	n := 0
	err = r.ReadList(func() error {
		n++
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "USE") {
			return syntaxErr("unknown create parameter %q", truncate(a))
		}
		if p.UseGiven {
			return syntaxErr("USE twice")
		}
		p.UseGiven = true
		if err := r.ReadSP(); err != nil {
			return err
		}
		return r.ReadList(func() error {
			if err := r.expect('\\', "use-attr"); err != nil {
				return err
			}
			a, err := r.ReadAtom()
			if err != nil {
				return err
			}
			attr := imap.MailboxAttr("\\" + a)
			for _, su := range specialUses {
				if strings.EqualFold(string(su), string(attr)) {
					attr = su
				}
			}
			p.SpecialUse = append(p.SpecialUse, attr)
			return nil
		})
	})
	if err != nil {
		return "", nil, err
	}
	if n == 0 {
		return "", nil, syntaxErr("empty create parameter list")
	}
	return name, p, nil
}

// ReadRenameArgs reads the arguments of RENAME from the SP after the
// command name up to, not including, the CRLF: SP mailbox SP mailbox
// (RFC 9051 §6.3.6).
func (r *Reader) ReadRenameArgs() (from, to string, err error) {
	if from, err = r.ReadMailboxArg(); err != nil {
		return "", "", err
	}
	if to, err = r.ReadMailboxArg(); err != nil {
		return "", "", err
	}
	return from, to, nil
}
