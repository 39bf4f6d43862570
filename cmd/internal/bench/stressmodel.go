package main

// The stress client's model of its selected mailbox and the checks that
// compare each response with it. The model is what the server has told
// this session, nothing more: the message count from EXISTS, EXPUNGE
// and VANISHED, each sequence number's UID once fetched, the sizes seen,
// and the flags announced by FLAGS and PERMANENTFLAGS. A response that
// contradicts it is a protocol error of one kind (the constants below).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Protocol error kinds, as counted and printed.
const (
	errMalformedResp   = "malformed response"
	errSeqBeyond       = "FETCH sequence number beyond EXISTS"
	errExpungeBeyond   = "EXPUNGE of a nonexistent sequence number"
	errExpungeInCmd    = "EXPUNGE during FETCH/STORE/SEARCH (RFC 9051 §7.5.1)"
	errExistsShrank    = "EXISTS smaller than the known count"
	errKeywordUnann    = "keyword in FETCH not announced in FLAGS"
	errBadSystemFlag   = "unknown system flag"
	errSizeMismatch    = "RFC822.SIZE differs from BODY[] length"
	errUIDOrder        = "UIDs not ascending with sequence numbers"
	errUIDChanged      = "UID of a sequence number changed (missed EXPUNGE)"
	errUIDBackwards    = "new UID not above every UID seen (UID went backwards)"
	errSearchBeyond    = "SEARCH result beyond EXISTS"
	errNoToValid       = "NO to a valid command"
	errBadToValid      = "BAD to a valid command"
	errFetchNoUID      = "UID FETCH response without UID"
	errVanishedUnasked = "VANISHED without QRESYNC enabled"
	errConnLost        = "connection lost or BYE mid-session"
	errUIDValidity     = "APPENDUID UIDVALIDITY differs from SELECT's"
	errVanishedGone    = "VANISHED of a UID not in the mailbox"
	errStoreNotShown   = "STORE reply's last FLAGS lack the change"
	errFinalState      = "final view differs from UID SEARCH ALL (missed EXISTS/EXPUNGE)"
)

// systemFlags are the flags a FETCH may carry with a backslash (RFC 9051
// §2.3.2), \Recent included for IMAP4rev1 servers.
var systemFlags = map[string]bool{`\seen`: true, `\answered`: true, `\flagged`: true, `\deleted`: true, `\draft`: true, `\recent`: true}

// protoErr is one contradiction found.
type protoErr struct {
	kind, detail string
}

// mailboxModel is one session's view of its selected mailbox.
type mailboxModel struct {
	uids      []uint32 // by sequence number - 1; 0 = not yet fetched
	maxUID    uint32   // highest UID this session has seen
	flags     map[string]bool
	permFlags map[string]bool
	anyKw     bool   // PERMANENTFLAGS has \*
	qresync   bool   // ENABLE QRESYNC done: VANISHED replaces EXPUNGE
	validity  uint32 // UIDVALIDITY from SELECT
	// watchUID's flags in the current command's FETCH responses are kept
	// in watched, one set per response: the reply to this session's own
	// STORE, and updates from other sessions' changes queued around it.
	flagsOf    map[uint32]string // sorted flags by UID, as last seen
	redundant  int               // unsolicited FETCH FLAGS changing nothing
	lastSearch []uint32          // UIDs of the last UID SEARCH
	watchUID   uint32
	watched    [][]string
	sizes      map[uint32]int64 // RFC822.SIZE by UID
	bodies     map[uint32]int64 // BODY[] length by UID
	// cmd is the command in progress ("FETCH", "UID FETCH", ...), for the
	// rule on when EXPUNGE may come.
	cmd string
}

func newMailboxModel() *mailboxModel {
	return &mailboxModel{flags: map[string]bool{}, permFlags: map[string]bool{}, sizes: map[uint32]int64{}, bodies: map[uint32]int64{}, flagsOf: map[uint32]string{}}
}

func (m *mailboxModel) count() uint32 { return uint32(len(m.uids)) }

// untagged checks one untagged response against the model and applies
// it; it returns what contradicts the model.
func (m *mailboxModel) untagged(r *response) []protoErr {
	var errs []protoErr
	bad := func(kind, format string, args ...any) {
		errs = append(errs, protoErr{kind, fmt.Sprintf(format, args...)})
	}
	switch r.word {
	case "EXISTS":
		if r.num < m.count() {
			bad(errExistsShrank, "EXISTS %d with %d known", r.num, m.count())
			m.uids = m.uids[:r.num]
			break
		}
		m.uids = append(m.uids, make([]uint32, r.num-m.count())...)
	case "EXPUNGE":
		switch m.cmd {
		case "FETCH", "STORE", "SEARCH":
			bad(errExpungeInCmd, "* %d EXPUNGE during %s", r.num, m.cmd)
		}
		if r.num < 1 || r.num > m.count() {
			bad(errExpungeBeyond, "* %d EXPUNGE with %d messages", r.num, m.count())
			break
		}
		m.forget(m.uids[r.num-1])
		m.uids = slices.Delete(m.uids, int(r.num-1), int(r.num))
	case "VANISHED":
		if !m.qresync {
			bad(errVanishedUnasked, "%s", trunc(r.raw, 80))
			break
		}
		errs = append(errs, m.vanished(r)...)
	case "FLAGS":
		if len(r.args) != 1 || !r.args[0].isList {
			bad(errMalformedResp, "FLAGS without one list: %s", trunc(r.raw, 80))
			break
		}
		m.flags = map[string]bool{}
		for _, f := range r.args[0].list {
			m.flags[strings.ToLower(f.atom)] = true
		}
	case "OK":
		if r.code == "UIDVALIDITY" && len(r.args) == 1 {
			n, err := strconv.ParseUint(r.args[0].atom, 10, 32)
			if err != nil || n == 0 {
				bad(errMalformedResp, "UIDVALIDITY %s", r.args[0])
			}
			m.validity = uint32(n)
		}
		if r.code == "PERMANENTFLAGS" && len(r.args) == 1 && r.args[0].isList {
			m.permFlags = map[string]bool{}
			m.anyKw = false
			for _, f := range r.args[0].list {
				m.permFlags[strings.ToLower(f.atom)] = true
				if f.atom == `\*` {
					m.anyKw = true
				}
			}
		}
	case "FETCH":
		errs = append(errs, m.fetch(r)...)
	case "SEARCH":
		if m.cmd == "UID SEARCH" {
			m.lastSearch = m.lastSearch[:0]
			for _, a := range r.args {
				if n, err := strconv.ParseUint(a.atom, 10, 32); err == nil {
					m.lastSearch = append(m.lastSearch, uint32(n))
				}
			}
		}
		if !strings.HasPrefix(m.cmd, "UID ") {
			for _, a := range r.args {
				n, err := strconv.ParseUint(a.atom, 10, 32)
				if err != nil {
					bad(errMalformedResp, "SEARCH item %s", a)
				} else if uint32(n) > m.count() || n == 0 {
					bad(errSearchBeyond, "SEARCH gives %d with %d messages", n, m.count())
				}
			}
		}
	}
	return errs
}

// forget drops what the model knows of an expunged UID.
func (m *mailboxModel) forget(uid uint32) {
	if uid == 0 {
		return
	}
	delete(m.sizes, uid)
	delete(m.bodies, uid)
	delete(m.flagsOf, uid)
}

// noteFlags remembers a message's flags and counts unsolicited FETCH
// FLAGS that change nothing (not an error; traffic a server could spare).
func (m *mailboxModel) noteFlags(num, uid uint32, flags []string) {
	if flags == nil {
		return
	}
	if uid == 0 {
		uid = m.uids[num-1]
	}
	if uid == 0 {
		return
	}
	fs := slices.Clone(flags)
	slices.Sort(fs)
	key := strings.Join(fs, " ")
	if old, ok := m.flagsOf[uid]; ok && old == key && uid != m.watchUID && !strings.HasSuffix(m.cmd, "FETCH") {
		m.redundant++
	}
	m.flagsOf[uid] = key
}

// fetch checks "* n FETCH (...)".
func (m *mailboxModel) fetch(r *response) []protoErr {
	var errs []protoErr
	bad := func(kind, format string, args ...any) {
		errs = append(errs, protoErr{kind, fmt.Sprintf(format, args...)})
	}
	if !r.hasNum || len(r.args) != 1 || !r.args[0].isList || len(r.args[0].list)%2 != 0 {
		bad(errMalformedResp, "FETCH not \"n FETCH (name value ...)\": %s", trunc(r.raw, 100))
		return errs
	}
	if r.num < 1 || r.num > m.count() {
		bad(errSeqBeyond, "* %d FETCH with %d messages", r.num, m.count())
		return errs
	}
	items := r.args[0].list
	var uid uint32
	size, body := int64(-1), int64(-1)
	var flags []string // lower-case; nil when FLAGS is absent
	for i := 0; i < len(items); i += 2 {
		name, v := strings.ToUpper(items[i].atom), items[i+1]
		switch {
		case name == "UID":
			n, err := strconv.ParseUint(v.atom, 10, 32)
			if err != nil || n == 0 {
				bad(errMalformedResp, "UID %s", v)
				continue
			}
			uid = uint32(n)
		case name == "FLAGS":
			if !v.isList {
				bad(errMalformedResp, "FLAGS not a list: %s", v)
				continue
			}
			flags = []string{}
			for _, f := range v.list {
				lf := strings.ToLower(f.atom)
				flags = append(flags, lf)
				switch {
				case f.atom == "":
					bad(errMalformedResp, "flag %s", f)
				case strings.HasPrefix(lf, `\`):
					if !systemFlags[lf] {
						bad(errBadSystemFlag, "%s in * %d FETCH", f.atom, r.num)
					}
				case !m.flags[lf]:
					bad(errKeywordUnann, "%s in * %d FETCH, announced FLAGS %s", f.atom, r.num, m.flagList())
				}
			}
		case name == "RFC822.SIZE":
			n, err := strconv.ParseInt(v.atom, 10, 64)
			if err != nil {
				bad(errMalformedResp, "RFC822.SIZE %s", v)
				continue
			}
			size = n
		case name == "BODY[]" || name == "RFC822":
			if !v.isStr {
				bad(errMalformedResp, "%s not a string: %s", name, v)
				continue
			}
			body = int64(len(v.str))
		}
	}
	// RFC 9051 §6.4.9: the FETCH responses a UID command causes carry
	// UID; unsolicited flag updates for other messages need not, so only
	// data nobody pushes unasked (sizes, bodies) gives a response away.
	if strings.HasPrefix(m.cmd, "UID FETCH") && uid == 0 && (size >= 0 || body >= 0) {
		bad(errFetchNoUID, "* %d FETCH during %s", r.num, m.cmd)
	}
	m.noteFlags(r.num, uid, flags)
	if uid != 0 {
		i := int(r.num - 1)
		if old := m.uids[i]; old != 0 && old != uid {
			bad(errUIDChanged, "* %d FETCH UID %d, earlier UID %d", r.num, uid, old)
		}
		if old := m.uids[i]; old == 0 {
			// A message this session learns of now: above every UID seen
			// unless it sits below a known neighbour (then it was known).
			if after := m.nextKnown(i); after == 0 && uid <= m.maxUID && !m.knownUID(uid) {
				bad(errUIDBackwards, "* %d FETCH UID %d, highest UID seen %d", r.num, uid, m.maxUID)
			}
		}
		if prev := m.prevKnown(i); prev != 0 && prev >= uid {
			bad(errUIDOrder, "* %d FETCH UID %d after UID %d", r.num, uid, prev)
		}
		if next := m.nextKnown(i); next != 0 && next <= uid {
			bad(errUIDOrder, "* %d FETCH UID %d before UID %d", r.num, uid, next)
		}
		m.uids[i] = uid
		m.maxUID = max(m.maxUID, uid)
		if uid == m.watchUID && flags != nil {
			m.watched = append(m.watched, flags)
		}
		if size >= 0 {
			m.sizes[uid] = size
		}
		if body >= 0 {
			m.bodies[uid] = body
		}
		if s, ok := m.sizes[uid]; ok {
			if b, ok := m.bodies[uid]; ok && s != b {
				bad(errSizeMismatch, "UID %d: RFC822.SIZE %d, BODY[] %d bytes", uid, s, b)
				delete(m.bodies, uid)
			}
		}
	} else if size >= 0 && body >= 0 && size != body {
		bad(errSizeMismatch, "* %d FETCH: RFC822.SIZE %d, BODY[] %d bytes", r.num, size, body)
	}
	return errs
}

func (m *mailboxModel) prevKnown(i int) uint32 {
	for j := i - 1; j >= 0; j-- {
		if m.uids[j] != 0 {
			return m.uids[j]
		}
	}
	return 0
}

func (m *mailboxModel) nextKnown(i int) uint32 {
	for j := i + 1; j < len(m.uids); j++ {
		if m.uids[j] != 0 {
			return m.uids[j]
		}
	}
	return 0
}

// knownUID reports whether uid is in the model (only asked on the
// error path).
func (m *mailboxModel) knownUID(uid uint32) bool { return slices.Contains(m.uids, uid) }

func (m *mailboxModel) flagList() string {
	fs := make([]string, 0, len(m.flags))
	for f := range m.flags {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return "(" + strings.Join(fs, " ") + ")"
}

// unknown returns how many sequence numbers have no UID yet.
func (m *mailboxModel) unknown() int {
	n := 0
	for _, u := range m.uids {
		if u == 0 {
			n++
		}
	}
	return n
}

// vanished applies "* VANISHED uid-set" (RFC 7162 §3.2.10): each UID
// is an expunge. UIDs above every UID fetched belong to messages known
// only by count (EXISTS); those slots are alike, so any one goes. A UID
// at or below the highest seen that the model lacks was gone already.
// VANISHED (EARLIER) reports history and changes no count.
func (m *mailboxModel) vanished(r *response) []protoErr {
	var errs []protoErr
	args := r.args
	if len(args) == 2 && args[0].isList && len(args[0].list) == 1 && strings.EqualFold(args[0].list[0].atom, "EARLIER") {
		return nil
	}
	if len(args) != 1 || args[0].atom == "" {
		return []protoErr{{errMalformedResp, "VANISHED " + trunc(r.raw, 80)}}
	}
	if m.cmd == "FETCH" || m.cmd == "STORE" || m.cmd == "SEARCH" {
		errs = append(errs, protoErr{errExpungeInCmd, fmt.Sprintf("%s during %s", trunc(r.raw, 60), m.cmd)})
	}
	for _, rng := range strings.Split(args[0].atom, ",") {
		lo, hi, ok := strings.Cut(rng, ":")
		if !ok {
			hi = lo
		}
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b, err2 := strconv.ParseUint(hi, 10, 32)
		if err1 != nil || err2 != nil || a == 0 || b == 0 {
			return append(errs, protoErr{errMalformedResp, "VANISHED " + trunc(r.raw, 80)})
		}
		a, b = min(a, b), max(a, b)
		// Known UIDs in the range go.
		gone := uint64(0)
		m.uids = slices.DeleteFunc(m.uids, func(u uint32) bool {
			if u != 0 && uint64(u) >= a && uint64(u) <= b {
				m.forget(u)
				gone++
				return true
			}
			return false
		})
		if low := min(b, uint64(m.maxUID)); low >= a && low-a+1 > gone {
			errs = append(errs, protoErr{errVanishedGone, fmt.Sprintf("VANISHED %d:%d, %d of them not in the mailbox", a, b, low-a+1-gone)})
		}
		if b > uint64(m.maxUID) {
			above := b - max(a, uint64(m.maxUID)+1) + 1
			for ; above > 0; above-- {
				i := slices.Index(m.uids, 0)
				if i < 0 {
					break
				}
				m.uids = slices.Delete(m.uids, i, i+1)
			}
		}
	}
	return errs
}
