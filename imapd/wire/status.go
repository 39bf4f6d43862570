package wire

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// ReadStatusItems reads "(" status-att *(SP status-att) ")" (RFC 9051
// §6.3.11, §9): MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, DELETED, SIZE
// (also RFC 8438), and RECENT (RFC 3501), HIGHESTMODSEQ (RFC 7162
// §3.1.2.1), DELETED-STORAGE (RFC 9208, with QUOTA=RES-STORAGE) and
// APPENDLIMIT (RFC 7889 §3). At least one item is required; an unknown
// one is a *SyntaxError. Whether an item is advertised (HIGHESTMODSEQ
// without CONDSTORE, for instance) is the server's decision.
func (r *Reader) ReadStatusItems() (*imap.StatusOptions, error) {
	o := &imap.StatusOptions{}
	n := 0
	err := r.ReadList(func() error {
		n++
		a, err := r.ReadAtom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "MESSAGES":
			o.NumMessages = true
		case "RECENT":
			o.NumRecent = true
		case "UIDNEXT":
			o.UIDNext = true
		case "UIDVALIDITY":
			o.UIDValidity = true
		case "UNSEEN":
			o.NumUnseen = true
		case "DELETED":
			o.NumDeleted = true
		case "SIZE":
			o.Size = true
		case "APPENDLIMIT":
			o.AppendLimit = true
		case "DELETED-STORAGE":
			o.DeletedStorage = true
		case "HIGHESTMODSEQ":
			o.HighestModSeq = true
		default:
			return syntaxErr("unknown status item %q", truncate(a))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, syntaxErr("empty status item list")
	}
	return o, nil
}

// ReadStatusArgs reads the arguments of STATUS from the SP after the
// command name up to, not including, the CRLF: SP mailbox SP "(" items
// ")".
func (r *Reader) ReadStatusArgs() (string, *imap.StatusOptions, error) {
	name, err := r.ReadMailboxArg()
	if err != nil {
		return "", nil, err
	}
	if err := r.ReadSP(); err != nil {
		return "", nil, err
	}
	o, err := r.ReadStatusItems()
	if err != nil {
		return "", nil, err
	}
	return name, o, nil
}

// ReadMailboxArg reads SP mailbox: the whole argument of DELETE,
// SUBSCRIBE, UNSUBSCRIBE, GETACL, MYRIGHTS, GETQUOTAROOT, and the first
// one of many others.
func (r *Reader) ReadMailboxArg() (string, error) {
	if err := r.ReadSP(); err != nil {
		return "", err
	}
	return r.ReadMailbox()
}

// StatusItem is one item of a STATUS response, in the order written.
type StatusItem struct {
	// Name is the status-att, e.g. "MESSAGES".
	Name string
	// Value is the number; it is ignored when Nil is set.
	Value uint64
	// Nil writes NIL (APPENDLIMIT without a limit, RFC 7889 §3).
	Nil bool
}

// StatusItems lists the items opts asks for with their values from d, in
// the order of RFC 3501 and 9051 §9 (MESSAGES, RECENT, UIDNEXT,
// UIDVALIDITY, UNSEEN, DELETED, SIZE), then APPENDLIMIT, DELETED-STORAGE
// and HIGHESTMODSEQ. A nil count in d is written as 0, except AppendLimit,
// whose nil is NIL (no limit).
func StatusItems(opts *imap.StatusOptions, d *imap.StatusData) []StatusItem {
	u32 := func(p *uint32) uint64 {
		if p == nil {
			return 0
		}
		return uint64(*p)
	}
	i64 := func(p *int64) uint64 {
		if p == nil || *p < 0 {
			return 0
		}
		return uint64(*p)
	}
	var items []StatusItem
	add := func(ok bool, name string, v uint64) {
		if ok {
			items = append(items, StatusItem{Name: name, Value: v})
		}
	}
	add(opts.NumMessages, "MESSAGES", u32(d.NumMessages))
	add(opts.NumRecent, "RECENT", u32(d.NumRecent))
	add(opts.UIDNext, "UIDNEXT", uint64(d.UIDNext))
	add(opts.UIDValidity, "UIDVALIDITY", uint64(d.UIDValidity))
	add(opts.NumUnseen, "UNSEEN", u32(d.NumUnseen))
	add(opts.NumDeleted, "DELETED", u32(d.NumDeleted))
	add(opts.Size, "SIZE", i64(d.Size))
	if opts.AppendLimit {
		items = append(items, StatusItem{Name: "APPENDLIMIT", Value: u32(d.AppendLimit), Nil: d.AppendLimit == nil})
	}
	add(opts.DeletedStorage, "DELETED-STORAGE", i64(d.DeletedStorage))
	add(opts.HighestModSeq, "HIGHESTMODSEQ", d.HighestModSeq)
	return items
}

// StatusData writes a STATUS response (RFC 9051 §7.3.2):
//
//	S: * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)
//
// name is written as Mailbox does.
func (w *Writer) StatusData(name string, items []StatusItem) *Writer {
	w.Untagged().Atom("STATUS").SP().Mailbox(name).SP().BeginList()
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		w.Atom(it.Name).SP()
		if it.Nil {
			w.NIL()
		} else {
			w.Number64(it.Value)
		}
	}
	return w.EndList().CRLF()
}
