package imapd

import (
	"net/mail"
	"strings"

	"github.com/emersion/go-imap/v2"

	"yubin/imapd/thread"
	"yubin/imapd/wire"
)

// SORT, UID SORT, THREAD and UID THREAD (RFC 5256; RFC 5267 ESORT; RFC
// 5957 SORT=DISPLAY). The messages are chosen by the SEARCH machinery
// (search.go); what the orderings look at comes from the index (arrival,
// size) and the envelope fields, served by the mailbox's header cache, so
// a mailbox sorted twice reads its files once. Package thread does the
// ordering and threading.

// cmdSort answers SORT and UID SORT; refusals are logged.
func (s *session) cmdSort(r *request) error { return s.refuse("sort", s.sortCommand(r)) }

func (s *session) sortCommand(r *request) error {
	srt, err := s.r.ReadSort()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if err := checkCharset(srt.Charset); err != nil {
		return err
	}
	criteria := make([]thread.Criterion, 0, len(srt.Criteria))
	needHeader := false
	for _, c := range srt.Criteria {
		k, ok := thread.ParseKey(string(c.Key))
		if !ok {
			return bad(imap.ResponseCodeClientBug, "Unknown sort key "+truncate(string(c.Key)))
		}
		criteria = append(criteria, thread.Criterion{Key: k, Reverse: c.Reverse})
		needHeader = needHeader || (k != thread.Arrival && k != thread.Size)
	}
	if usesModSeq(srt.Search) {
		s.enabled["CONDSTORE"] = true
	}
	res, err := s.search(staticCriteria(s.sel, srt.Search))
	if err != nil {
		return err
	}
	msgs, err := s.threadMessages(res, r.uid, needHeader, false)
	if err != nil {
		return err
	}
	nums := thread.Sort(msgs, criteria)
	if !srt.ESearch {
		s.w.SortData(nums)
		return s.w.Err()
	}
	// RFC 5267 §3.2: MIN and MAX are the first and last in sort order,
	// ALL keeps the sort order.
	data := &imap.SearchData{Count: uint32(len(nums))}
	if len(nums) > 0 {
		data.Min, data.Max = nums[0], nums[len(nums)-1]
		sorted := wire.SortedSeqSet(nums)
		if r.uid {
			uids := make(imap.UIDSet, len(sorted))
			for i, rg := range sorted {
				uids[i] = imap.UIDRange{Start: imap.UID(rg.Start), Stop: imap.UID(rg.Stop)}
			}
			data.All = uids
		} else {
			data.All = sorted
		}
	}
	s.w.ESearch(r.tag, r.uid, srt.Return, data)
	return s.w.Err()
}

// cmdThread answers THREAD and UID THREAD; refusals are logged.
func (s *session) cmdThread(r *request) error { return s.refuse("thread", s.threadCommand(r)) }

func (s *session) threadCommand(r *request) error {
	thr, err := s.r.ReadThread()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	algo, ok := thread.ParseAlgorithm(string(thr.Algorithm))
	if !ok {
		return bad(imap.ResponseCodeClientBug, "Unknown threading algorithm "+truncate(string(thr.Algorithm)))
	}
	if err := checkCharset(thr.Charset); err != nil {
		return err
	}
	if usesModSeq(thr.Search) {
		s.enabled["CONDSTORE"] = true
	}
	res, err := s.search(staticCriteria(s.sel, thr.Search))
	if err != nil {
		return err
	}
	msgs, err := s.threadMessages(res, r.uid, true, algo == thread.References)
	if err != nil {
		return err
	}
	s.w.ThreadData(threadNodes(thread.Thread(msgs, algo)))
	return s.w.Err()
}

// checkCharset accepts the charsets SEARCH does (RFC 5256 §3: SORT and
// THREAD name one, US-ASCII and UTF-8 at least).
func checkCharset(cs string) error {
	switch strings.ToUpper(cs) {
	case "UTF-8", "US-ASCII":
		return nil
	}
	return no(imap.ResponseCode("BADCHARSET ("+searchCharsets+")"), "Unsupported charset")
}

// threadMessages gathers what package thread looks at for the matched
// messages: index fields always, envelope fields when header is set
// (from the header cache, or the file's header once), References when
// refs is set (from the file: the cache holds only envelope fields).
func (s *session) threadMessages(res *searchResult, uid, header, refs bool) ([]thread.Message, error) {
	out := make([]thread.Message, len(res.msgs))
	cache := s.envCache()
	for i, m := range res.msgs {
		tm := &out[i]
		tm.Num = res.seqs[i]
		if uid {
			tm.Num = m.UID
		}
		tm.Arrival, tm.Size = m.InternalDate, m.Size
		if !header {
			continue
		}
		var c *cachedHeader
		if cache != nil && !refs {
			c = cache.get(m.UID)
		}
		if c == nil || refs {
			f, err := s.acct.OpenMessage(s.ctx(), s.sel.name, *m)
			if err != nil {
				// Gone meanwhile: it sorts with empty fields.
				s.log.Info("sort: message gone", "mailbox", s.sel.name, "uid", m.UID, "err", err)
				continue
			}
			h, err := readHeader(f)
			f.Close()
			if err != nil {
				continue
			}
			if refs {
				tm.References = thread.ParseMsgIDs(strings.Join(h.Values("References"), " "))
			}
			if c == nil && cache != nil {
				c = cache.get(m.UID)
			}
			if c == nil {
				c = newCachedHeader(&h)
				if cache != nil {
					cache.put(m.UID, c)
				}
			}
		}
		envelopeThread(tm, c.imapEnvelope())
	}
	return out, nil
}

// envelopeThread fills m's envelope fields from env (envelope.go, the
// fields as written): package thread decodes RFC 2047 words itself. A
// Date that net/mail cannot parse is zero, so the message sorts by its
// arrival (RFC 5256 §2.2).
func envelopeThread(m *thread.Message, env *envelope) {
	if env.Date.Valid {
		if d, err := mail.ParseDate(env.Date.Value); err == nil {
			m.Date = d
		}
	}
	m.Subject = env.Subject.Value
	if ids := thread.ParseMsgIDs(env.MessageID.Value); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.InReplyTo = thread.ParseMsgIDs(env.InReplyTo.Value)
	m.From, m.To, m.Cc = threadAddrs(env.From), threadAddrs(env.To), threadAddrs(env.Cc)
}

// threadAddrs converts an envelope's address list: groups as ENVELOPE
// gives them (the start with the group name as mailbox and no host, the
// end all empty), MISSING_MAILBOX and MISSING_DOMAIN as empty.
func threadAddrs(list []address) []thread.Address {
	if len(list) == 0 {
		return nil
	}
	out := make([]thread.Address, len(list))
	for i, a := range list {
		switch a.Group {
		case groupStart:
			out[i] = thread.Address{Mailbox: a.Mailbox}
		case groupEnd:
		default:
			t := thread.Address{Name: a.Name, Mailbox: a.Mailbox, Host: a.Host}
			if t.Mailbox == missingMailbox {
				t.Mailbox = ""
			}
			if t.Host == missingDomain {
				t.Host = ""
			}
			out[i] = t
		}
	}
	return out
}

// threadNodes converts package thread's tree for the wire writer.
func threadNodes(nodes []*thread.Node) []*wire.ThreadNode {
	out := make([]*wire.ThreadNode, len(nodes))
	for i, n := range nodes {
		out[i] = &wire.ThreadNode{Num: n.Num, Children: threadNodes(n.Children)}
	}
	return out
}
