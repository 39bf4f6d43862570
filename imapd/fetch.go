package imapd

import (
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/wire"
	"yubin/storage"
)

// FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162
// §3.1.4 CHANGEDSINCE, §3.2.6 VANISHED). Flags, dates, sizes and MODSEQs
// of the whole set come from the index in one query (one per range of the
// set); a message's file is opened only for items that need it, header
// items read only the header, and BODY[] and BODY[TEXT] stream from the
// file into the connection's buffer without holding the message.

// cmdFetch answers FETCH and UID FETCH; refusals are logged.
func (s *session) cmdFetch(r *request) error { return s.refuse("fetch", s.fetch(r)) }

func (s *session) fetch(r *request) error {
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	set, err := s.r.ReadNumSet(r.uid)
	if err != nil {
		return err
	}
	if err := s.r.ReadSP(); err != nil {
		return err
	}
	opts, mods, err := s.r.ReadFetchItems()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	v := s.sel
	if mods.Vanished {
		// RFC 7162 §3.2.6: only UID FETCH, only after ENABLE QRESYNC.
		if !r.uid {
			return bad(imap.ResponseCodeClientBug, "VANISHED needs UID FETCH")
		}
		if !s.enabled["QRESYNC"] {
			return bad(imap.ResponseCodeClientBug, "VANISHED needs ENABLE QRESYNC")
		}
	}
	if opts.ModSeq {
		// RFC 7162 §3.1: FETCH MODSEQ and CHANGEDSINCE enable CONDSTORE.
		s.enabled["CONDSTORE"] = true
	}
	var items []item
	if imap.IsSearchRes(set) {
		items = v.resolve(v.searchRes) // RFC 5182 §2.1: "$" is the saved UIDs
	} else {
		if seqs, ok := set.(imap.SeqSet); ok && (len(v.uids) == 0 || !v.seqInRange(seqs)) {
			// RFC 9051 §9 (seq-number): a number above the message count,
			// or "*" in an empty mailbox, is BAD (as Dovecot answers).
			return bad(imap.ResponseCodeClientBug, "Invalid message sequence number")
		}
		items = v.resolve(set)
	}
	if r.uid {
		opts.UID = true // RFC 9051 §6.4.9: UID FETCH always returns UID
	}
	if mods.Vanished {
		if err := s.writeVanished(set.(imap.UIDSet), mods.ChangedSince); err != nil {
			return err
		}
	}
	if len(items) == 0 {
		return nil
	}
	var msgs []*storage.Message
	if mods.ChangedSince != 0 {
		items, msgs, err = s.loadChanged(items, mods.ChangedSince)
	} else {
		msgs, err = s.loadMessages(items)
	}
	if err != nil {
		return err
	}
	markSeen := !v.readOnly && wantsSeen(opts, mods)
	seenNow := map[uint32]bool{}
	if markSeen {
		if seenNow, err = s.markSeen(msgs); err != nil {
			return err
		}
	}
	if opts.Flags || len(seenNow) > 0 {
		s.announceKeywords(v, keywordsOf(msgs))
	}
	expunged := false
	var cteErr error
	for i, it := range items {
		m := msgs[i]
		if m == nil {
			expunged = true
			continue
		}
		if mods.ChangedSince != 0 && m.ModSeq <= mods.ChangedSince {
			continue
		}
		err := s.fetchOne(it, m, opts, mods, seenNow[m.UID])
		switch {
		case errors.Is(err, errGone):
			expunged = true
		case errors.Is(err, errUnknownCTE):
			cteErr = err
		case err != nil:
			return err
		}
		if s.w.Err() != nil {
			return s.w.Err()
		}
	}
	if cteErr != nil {
		return no(imap.ResponseCodeUnknownCTE, "Cannot decode a part's content transfer encoding")
	}
	if expunged {
		// RFC 5530 EXPUNGEISSUED: another session expunged some of the
		// messages; the client learns which at its next NOOP.
		return ok("EXPUNGEISSUED", "Some messages were expunged meanwhile")
	}
	return nil
}

// errGone: a message's file or index entry went away during the command.
var errGone = errors.New("message gone")

// errUnknownCTE: BINARY of a part whose encoding is not known (RFC 3516
// §4.3 UNKNOWN-CTE).
var errUnknownCTE = errors.New("unknown content transfer encoding")

// wantsSeen reports whether the items fetch a body without PEEK, which
// sets \Seen (RFC 9051 §6.4.5).
func wantsSeen(o *imap.FetchOptions, mods *wire.FetchModifiers) bool {
	if mods.RFC822 || mods.RFC822Text {
		return true
	}
	for _, bs := range o.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range o.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// maxRanges is how many separate index queries (one per range) one FETCH
// makes before it asks for the set's UIDs in one.
const maxRanges = 4

// loadMessages reads the index entries of items (in ascending sequence
// order) with one query per run of consecutive messages, or one listing
// the UIDs when the set is scattered. Entries the index no longer has
// (expunged, not yet told to this client) are nil.
func (s *session) loadMessages(items []item) ([]*storage.Message, error) {
	type span struct{ first, last uint32 }
	var spans []span
	for i, it := range items {
		if i > 0 && it.seq == items[i-1].seq+1 {
			spans[len(spans)-1].last = it.uid
			continue
		}
		spans = append(spans, span{it.uid, it.uid})
	}
	var rows []storage.Message
	if len(spans) > maxRanges {
		// A scattered set: one query for just its rows.
		uids := make([]uint32, len(items))
		for i, it := range items {
			uids[i] = it.uid
		}
		var err error
		if rows, err = s.acct.MessagesByUIDs(s.ctx(), s.sel.name, uids); err != nil {
			return nil, mailboxError(err)
		}
	}
	for _, sp := range spans {
		if len(spans) > maxRanges {
			break
		}
		part, err := s.acct.MessageRange(s.ctx(), s.sel.name, sp.first, sp.last)
		if err != nil {
			return nil, mailboxError(err)
		}
		rows = append(rows, part...)
	}
	out := make([]*storage.Message, len(items))
	j := 0
	for i, it := range items {
		for j < len(rows) && rows[j].UID < it.uid {
			j++
		}
		if j < len(rows) && rows[j].UID == it.uid {
			out[i] = &rows[j]
		}
	}
	return out, nil
}

// loadChanged is loadMessages for CHANGEDSINCE (RFC 7162 §3.1.4.1): it
// keeps the items changed after since, which storage reads from the
// change log, so a client resynchronising a large mailbox costs what
// changed, not the mailbox.
func (s *session) loadChanged(items []item, since uint64) ([]item, []*storage.Message, error) {
	changed, err := s.acct.ChangedSince(s.ctx(), s.sel.name, since)
	if err != nil {
		return nil, nil, mailboxError(err)
	}
	var keep []item
	var kept []*storage.Message
	j := 0
	for _, it := range items {
		for j < len(changed) && changed[j].UID < it.uid {
			j++
		}
		if j < len(changed) && changed[j].UID == it.uid && changed[j].ModSeq > since {
			keep, kept = append(keep, it), append(kept, &changed[j])
		}
	}
	return keep, kept, nil
}

// markSeen sets \Seen on the messages that lack it and returns their UIDs;
// msgs are updated in place.
func (s *session) markSeen(msgs []*storage.Message) (map[uint32]bool, error) {
	var uids []uint32
	byUID := map[uint32]*storage.Message{}
	for _, m := range msgs {
		if m != nil && !containsFold(m.Flags, storage.FlagSeen) {
			uids = append(uids, m.UID)
			byUID[m.UID] = m
		}
	}
	changed := map[uint32]bool{}
	if len(uids) == 0 {
		return changed, nil
	}
	res, err := s.acct.UpdateFlags(s.ctx(), s.sel.name, uids, func(old []string) []string {
		if containsFold(old, storage.FlagSeen) {
			return old
		}
		return append(old, storage.FlagSeen)
	}, storage.StoreOptions{})
	if err != nil {
		return nil, mailboxError(err)
	}
	for _, after := range res.Messages {
		if m := byUID[after.UID]; m != nil && after.ModSeq != m.ModSeq {
			// This FETCH reports the change: updates need not repeat it.
			s.sel.own[after.ModSeq] = true
			m.Flags, m.ModSeq, m.Path = after.Flags, after.ModSeq, after.Path
			changed[after.UID] = true
		}
	}
	return changed, nil
}

// keywordsOf lists the keywords the messages carry.
func keywordsOf(msgs []*storage.Message) []string {
	var out []string
	for _, m := range msgs {
		if m == nil {
			continue
		}
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, `\`) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// internalDate is the date-time form (RFC 9051 §9 "date-time").
const internalDate = "_2-Jan-2006 15:04:05 -0700"

// fetchOne writes one message's FETCH response. Everything that can fail
// (opening the file, decoding BINARY parts) is done before the first byte
// of the response is written.
func (s *session) fetchOne(it item, m *storage.Message, o *imap.FetchOptions, mods *wire.FetchModifiers, seenNow bool) error {
	fm := &fetchMessage{s: s, m: m}
	defer fm.close()
	var env *cachedHeader
	if o.Envelope {
		if c := s.envCache(); c != nil {
			env = c.get(m.UID)
		}
	}
	needFile := (o.Envelope && env == nil) || o.BodyStructure != nil || len(o.BodySection) > 0 ||
		len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0 || mods.RFC822 || mods.RFC822Header || mods.RFC822Text
	if needFile {
		if err := fm.open(); err != nil {
			return err
		}
	}
	if o.Envelope && env == nil {
		h, err := readHeader(fm.f)
		if err != nil {
			return err
		}
		env = newCachedHeader(&h)
		if c := s.envCache(); c != nil {
			c.put(m.UID, env)
		}
	}
	binaries, err := fm.binaries(o)
	if err != nil {
		return err
	}

	w := s.w
	w.Untagged().Number(it.seq).SP().Atom("FETCH").SP().BeginList()
	first := true
	item := func(name string) *wire.Writer {
		if !first {
			w.SP()
		}
		first = false
		return w.Atom(name).SP()
	}
	if o.UID {
		item("UID").Number(m.UID)
	}
	if o.Flags || seenNow {
		fl := imapFlags(m.Flags)
		if !s.rev2() && s.sel.isRecent(m.UID) {
			fl = append(fl, `\Recent`) // RFC 3501 §2.3.2; gone in IMAP4rev2
		}
		item("FLAGS").Flags(fl)
	}
	if o.InternalDate {
		item("INTERNALDATE").Quoted(m.InternalDate.Format(internalDate))
	}
	if o.RFC822Size {
		item("RFC822.SIZE").Number64(uint64(m.Size))
	}
	if o.ModSeq || (seenNow && s.condstore()) {
		// RFC 7162 §3.1.4: with CONDSTORE a flag change the response
		// reports carries its MODSEQ.
		item("MODSEQ").BeginList().Number64(m.ModSeq).EndList()
	}
	if o.Envelope {
		writeEnvelope(item("ENVELOPE"), env.imapEnvelope())
	}
	if o.BodyStructure != nil {
		bs, err := fm.bodyStructure()
		if err != nil {
			return err
		}
		if mods.Body {
			writeBodyStructure(item("BODY"), bs, false)
		}
		if o.BodyStructure.Extended {
			writeBodyStructure(item("BODYSTRUCTURE"), bs, true)
		}
	}
	if mods.RFC822Header {
		hdr, err := fm.header()
		if err != nil {
			return err
		}
		item("RFC822.HEADER").Literal(hdr)
	}
	if mods.RFC822Text {
		fm.writeText(item("RFC822.TEXT"), nil)
	}
	if mods.RFC822 {
		fm.writeWhole(item("RFC822"), nil)
	}
	for _, bs := range o.BodySection {
		if !first {
			w.SP()
		}
		first = false
		fm.writeBodySection(bs)
	}
	for i, bs := range o.BinarySection {
		if !first {
			w.SP()
		}
		first = false
		fm.writeBinary(bs, binaries[i])
	}
	for _, bss := range o.BinarySectionSize {
		if !first {
			w.SP()
		}
		first = false
		w.Atom("BINARY.SIZE")
		writePart(w, bss.Part)
		w.SP().Number64(uint64(fm.binarySize(bss.Part, binaries, o)))
	}
	w.EndList().CRLF()
	return w.Err()
}

// fetchMessage is one message being fetched: its index entry and, once
// opened, its file.
type fetchMessage struct {
	s   *session
	m   *storage.Message
	f   *os.File
	hdr []byte    // the header section, once read
	bs  *bodyPart // the MIME structure, once parsed
	// canon is 1 when the file is stored as IMAP sends it, -1 when not,
	// 0 until known.
	canon int8
}

func (fm *fetchMessage) open() error {
	f, err := fm.s.acct.OpenMessage(fm.s.ctx(), fm.s.sel.name, *fm.m)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		fm.s.log.Info("fetch: message gone", "mailbox", fm.s.sel.name, "uid", fm.m.UID)
		return errGone
	}
	if err != nil {
		return err
	}
	fm.f = f
	return nil
}

func (fm *fetchMessage) close() {
	if fm.f != nil {
		fm.f.Close()
	}
}

// header returns the message's header section (with its blank line).
func (fm *fetchMessage) header() ([]byte, error) {
	if fm.hdr == nil {
		h, err := headerBytes(fm.f)
		if err != nil {
			return nil, err
		}
		fm.hdr = h
	}
	return fm.hdr, nil
}

// envCache is the selected mailbox's header cache, shared by the
// sessions that have it selected (headercache.go).
func (s *session) envCache() headerCache { return s.sel.headers }
