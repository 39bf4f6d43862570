package imapd

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC
// 6154) and LIST-STATUS (RFC 5819), and LSUB (RFC 3501 §6.3.9).
//
// The names listed are the account's folders plus every level above
// them (Maildir++ needs no folder for "A" to hold "A/B"): such a level
// is \Noselect, or \NonExistent in an extended LIST. \HasChildren or
// \HasNoChildren and the special-use attribute are always sent (RFC
// 5258 §4 allows CHILDREN without being asked; Dovecot does the same).

// listEntry is one name LIST may report.
type listEntry struct {
	name       string
	exists     bool // a folder of its own (selectable)
	subscribed bool
	children   bool
	specialUse string
	// subChild: some mailbox below is subscribed (RECURSIVEMATCH).
	subChild bool
	// useChild: some mailbox below has a special use.
	useChild bool
}

// listEntries collects every name: folders, the levels above them and,
// when asked, subscribed names whose folder is gone. Sorted by name,
// INBOX first.
func (s *session) listEntries(withSubs bool) ([]*listEntry, error) {
	ctx := s.ctx()
	boxes, err := s.acct.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	var subs []string
	if withSubs {
		if subs, err = s.acct.Subscriptions(ctx); err != nil {
			return nil, err
		}
	}
	byName := make(map[string]*listEntry, len(boxes))
	get := func(name string) *listEntry {
		e := byName[name]
		if e == nil {
			e = &listEntry{name: name}
			byName[name] = e
		}
		return e
	}
	// parents marks the levels above name.
	parents := func(name string, mark func(*listEntry)) {
		for i := strings.LastIndexByte(name, delim); i > 0; i = strings.LastIndexByte(name[:i], delim) {
			mark(get(name[:i]))
		}
	}
	for _, b := range boxes {
		e := get(b.Name)
		e.exists = true
		e.specialUse = b.SpecialUse
		parents(b.Name, func(p *listEntry) {
			p.children = true
			if b.SpecialUse != "" {
				p.useChild = true
			}
		})
	}
	for _, n := range subs {
		e := get(n)
		e.subscribed = true
		parents(n, func(p *listEntry) { p.subChild = true })
	}
	out := make([]*listEntry, 0, len(byName))
	for _, e := range byName {
		if !e.exists && !e.children && !e.subscribed {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *listEntry) int {
		switch {
		case a.name == storage.Inbox:
			return -1
		case b.name == storage.Inbox:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// foldInbox writes a leading "inbox" level of a reference or pattern as
// INBOX: the name is case-insensitive (RFC 9051 §5.1), the matcher is not.
func foldInbox(s string) string {
	if len(s) >= 5 && strings.EqualFold(s[:5], storage.Inbox) && (len(s) == 5 || s[5] == delim) {
		return storage.Inbox + s[5:]
	}
	return s
}

// cmdList implements LIST.
func (s *session) cmdList(r *request) error {
	args, err := s.r.ReadListArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	opts := args.Options
	if !args.Extended && len(args.Patterns) == 1 && args.Patterns[0] == "" {
		// RFC 9051 §6.3.9: an empty pattern asks for the delimiter and
		// the root of the reference.
		s.w.List("LIST", []string{string(imap.MailboxAttrNoSelect)}, delim, "", nil, "")
		return nil
	}
	if opts.SelectRemote && !opts.SelectSubscribed && !opts.SelectSpecialUse {
		opts.SelectRemote = false // RFC 5258 §3.1: no remote mailboxes here
	}
	ref := foldInbox(args.Ref)
	patterns := make([]string, len(args.Patterns))
	for i, p := range args.Patterns {
		if ref == "" {
			p = foldInbox(p)
		}
		patterns[i] = p
	}
	entries, err := s.listEntries(opts.SelectSubscribed || opts.ReturnSubscribed)
	if err != nil {
		return s.fail("list", err)
	}
	match := newListMatcher(ref, patterns, delim)
	extended := args.Extended || s.rev2()
	for _, e := range entries {
		if !match.match(e.name) {
			continue
		}
		var childInfo []string
		switch {
		case opts.SelectSubscribed:
			if !e.subscribed {
				if !opts.SelectRecursiveMatch || !e.subChild {
					continue
				}
				childInfo = []string{"SUBSCRIBED"}
			}
		case opts.SelectSpecialUse:
			if e.specialUse == "" || !e.exists {
				if !opts.SelectRecursiveMatch || !e.useChild {
					continue
				}
				childInfo = []string{"SPECIAL-USE"}
			}
		default:
			if !e.exists && !e.children {
				continue // subscribed, gone, no children: only for SUBSCRIBED
			}
		}
		if !opts.SelectRecursiveMatch {
			childInfo = nil
		}
		s.w.List("LIST", listAttrs(e, extended, opts.ReturnSubscribed), delim, e.name, childInfo, "")
		if opts.ReturnStatus != nil && e.exists {
			if err := s.writeStatus(e.name, opts.ReturnStatus); err != nil {
				// RFC 5819 §2: a mailbox whose status cannot be had
				// is listed without one.
				s.log.Info("list-status", "mailbox", e.name, "err", err)
			}
		}
	}
	return nil
}

// listAttrs are the attributes of one LIST response.
func listAttrs(e *listEntry, extended, subscribed bool) []string {
	var attrs []string
	if !e.exists {
		if extended {
			attrs = append(attrs, string(imap.MailboxAttrNonExistent))
		} else {
			attrs = append(attrs, string(imap.MailboxAttrNoSelect))
		}
	}
	if subscribed && e.subscribed {
		attrs = append(attrs, string(imap.MailboxAttrSubscribed))
	}
	if e.exists || e.children {
		if e.children {
			attrs = append(attrs, string(imap.MailboxAttrHasChildren))
		} else {
			attrs = append(attrs, string(imap.MailboxAttrHasNoChildren))
		}
	}
	if e.specialUse != "" && e.exists {
		attrs = append(attrs, e.specialUse)
	}
	return attrs
}

// cmdLsub implements LSUB (RFC 3501 §6.3.9): subscribed names matching
// the pattern. When the pattern ends in "%", a level above a subscribed
// name that matches but is not subscribed itself is listed \Noselect.
func (s *session) cmdLsub(r *request) error {
	ref, pattern, err := s.r.ReadLSubArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if pattern == "" {
		s.w.List("LSUB", []string{string(imap.MailboxAttrNoSelect)}, delim, "", nil, "")
		return nil
	}
	ref = foldInbox(ref)
	if ref == "" {
		pattern = foldInbox(pattern)
	}
	entries, err := s.listEntries(true)
	if err != nil {
		return s.fail("lsub", err)
	}
	match := compileList(ref, pattern, delim)
	partial := strings.HasSuffix(pattern, "%")
	for _, e := range entries {
		if !match.match(e.name) {
			continue
		}
		switch {
		case e.subscribed:
			var attrs []string
			if !e.exists {
				attrs = []string{string(imap.MailboxAttrNoSelect)}
			}
			s.w.List("LSUB", attrs, delim, e.name, nil, "")
		case partial && e.subChild:
			s.w.List("LSUB", []string{string(imap.MailboxAttrNoSelect)}, delim, e.name, nil, "")
		}
	}
	return nil
}
