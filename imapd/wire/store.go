package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// StoreModifiers holds the STORE modifiers (RFC 4466 §2.5).
type StoreModifiers struct {
	// UnchangedSince is the UNCHANGEDSINCE modifier (RFC 7162 §3.1.3), nil
	// when absent. 0 is a valid value that no message passes: every
	// message has a mod-sequence of at least 1, so each one fails the
	// condition and is reported in [MODIFIED ...]. (go-imap's
	// imap.StoreOptions cannot carry it: there 0 means absent.)
	UnchangedSince *uint64
}

// ReadStore reads the arguments of STORE (or UID STORE) after the
// sequence set and its SP, up to, not including, the CRLF (RFC 9051
// §6.4.6, RFC 4466 §2.5 modifiers, RFC 7162 §3.1.3 UNCHANGEDSINCE):
//
//	[ "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")" SP ]
//	[ "+" / "-" ] "FLAGS" [ ".SILENT" ] SP ( flag-list / flag *(SP flag) )
//
// \Recent cannot be stored (RFC 3501 §9 "flag") and is refused.
func (r *Reader) ReadStore() (*imap.StoreFlags, *StoreModifiers, error) {
	opts := &StoreModifiers{}
	c, err := r.peek()
	if err != nil {
		return nil, nil, err
	}
	if c == '(' {
		seen := false
		err := r.ReadList(func() error {
			name, err := r.ReadAtom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(name, "UNCHANGEDSINCE") {
				return syntaxErr("unknown store modifier %q", truncate(name))
			}
			if seen {
				return syntaxErr("UNCHANGEDSINCE twice")
			}
			seen = true
			if err := r.ReadSP(); err != nil {
				return err
			}
			// mod-sequence-valzer: 0 is allowed (RFC 7162 §3.1.3).
			n, err := r.ReadModSeq()
			if err != nil {
				return err
			}
			opts.UnchangedSince = &n
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if !seen {
			return nil, nil, syntaxErr("empty store modifiers")
		}
		if err := r.ReadSP(); err != nil {
			return nil, nil, err
		}
	}
	sf := &imap.StoreFlags{}
	item, err := r.readWhile(func(c byte) bool { return isFetchNameChar(c) || c == '+' || c == '-' }, "store item")
	if err != nil {
		return nil, nil, err
	}
	item = strings.ToUpper(item)
	switch {
	case strings.HasPrefix(item, "+"):
		sf.Op, item = imap.StoreFlagsAdd, item[1:]
	case strings.HasPrefix(item, "-"):
		sf.Op, item = imap.StoreFlagsDel, item[1:]
	default:
		sf.Op = imap.StoreFlagsSet
	}
	switch item {
	case "FLAGS":
	case "FLAGS.SILENT":
		sf.Silent = true
	default:
		return nil, nil, syntaxErr("bad store item %q", truncate(item))
	}
	if err := r.ReadSP(); err != nil {
		return nil, nil, err
	}
	if c, err = r.peek(); err != nil {
		return nil, nil, err
	}
	if c == '(' {
		sf.Flags, err = r.ReadFlagList()
		if err != nil {
			return nil, nil, err
		}
	} else {
		for {
			f, err := r.ReadFlag()
			if err != nil {
				return nil, nil, err
			}
			sf.Flags = append(sf.Flags, f)
			if sp, err := r.MaybeSP(); err != nil {
				return nil, nil, err
			} else if !sp {
				break
			}
		}
	}
	for _, f := range sf.Flags {
		if f == "\\Recent" {
			return nil, nil, syntaxErr("\\Recent cannot be stored")
		}
	}
	return sf, opts, nil
}
