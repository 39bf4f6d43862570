package imapd

import (
	"os"

	"github.com/emersion/go-imap/v2"

	"yubin/storage"
)

// SEARCH and UID SEARCH (RFC 9051 §6.4.4; RFC 4731 ESEARCH; RFC 5182
// SEARCHRES; RFC 7162 §3.1.5 MODSEQ). Flags, internal dates, sizes and
// MODSEQs come from the index, read in one query; a message's file is
// opened only when a key needs its header or body, and then only the
// header when that is enough (searchmatch.go).

// searchCharsets are the charsets SEARCH accepts (RFC 9051 §6.4.4: UTF-8
// and US-ASCII are required; strings are compared after RFC 2047 decoding
// either way).
const searchCharsets = "UTF-8 US-ASCII"

// cmdSearch answers SEARCH and UID SEARCH; refusals are logged.
func (s *session) cmdSearch(r *request) error { return s.refuse("search", s.searchCommand(r)) }

func (s *session) searchCommand(r *request) error {
	srch, err := s.r.ReadSearch()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	v := s.sel
	switch srch.Charset {
	case "", "UTF-8", "US-ASCII":
	default:
		if srch.Return.ReturnSave {
			v.searchRes = nil // RFC 5182 §2.1: a failed SAVE empties "$"
		}
		return no(imap.ResponseCode("BADCHARSET ("+searchCharsets+")"), "Unsupported charset")
	}
	withModSeq := usesModSeq(srch.Criteria)
	if withModSeq {
		s.enabled["CONDSTORE"] = true // RFC 7162 §3.1: an enabling command
	}
	res, err := s.search(staticCriteria(v, srch.Criteria))
	if err != nil {
		if srch.Return.ReturnSave {
			v.searchRes = nil
		}
		return err
	}
	ret := srch.Return
	if !srch.ESearch && s.rev2() {
		// RFC 9051 §6.4.4: without RETURN, IMAP4rev2 answers ESEARCH (ALL).
		ret = imap.SearchOptions{ReturnAll: true}
	}
	if ret.ReturnSave {
		v.searchRes = res.saved(ret)
	}
	if !withModSeq {
		res.modseq = 0
	}
	if !srch.ESearch && !s.rev2() {
		s.writeSearch(res, r.uid)
		return nil
	}
	if !ret.ReturnMin && !ret.ReturnMax && !ret.ReturnAll && !ret.ReturnCount {
		return nil // RFC 5182 §2.4: SAVE alone answers no ESEARCH
	}
	s.w.ESearch(r.tag, r.uid, ret, res.data(r.uid))
	return s.w.Err()
}

// searchResult is the messages a SEARCH matched, ascending.
type searchResult struct {
	seqs, uids []uint32
	msgs       []*storage.Message // their index entries
	modseq     uint64             // the highest MODSEQ among them (RFC 7162 §3.1.5)
}

// search evaluates c over the messages the client knows, reading their
// index entries in one query.
func (s *session) search(c *imap.SearchCriteria) (*searchResult, error) {
	v := s.sel
	res := &searchResult{}
	if len(v.uids) == 0 {
		return res, nil
	}
	lo, hi := searchSpan(v, c)
	if lo > hi {
		return res, nil
	}
	msgs, err := s.acct.MessageRange(s.ctx(), v.name, lo, hi)
	if err != nil {
		return nil, mailboxError(err)
	}
	open := func(m *storage.Message) (*os.File, error) { return s.acct.OpenMessage(s.ctx(), v.name, *m) }
	cache := s.envCache()
	var mm searchMessage // reused: no allocation per message
	i := 0               // index into v.uids
	for j := range msgs {
		m := &msgs[j]
		for i < len(v.uids) && v.uids[i] < m.UID {
			i++
		}
		if i == len(v.uids) {
			break
		}
		if v.uids[i] != m.UID {
			continue // not announced to this client yet
		}
		mm = searchMessage{open: open, cache: cache, meta: m, seq: uint32(i + 1), recent: v.isRecent(m.UID)}
		matched := mm.match(c)
		mm.close()
		if !matched {
			continue
		}
		res.seqs = append(res.seqs, uint32(i+1))
		res.uids = append(res.uids, m.UID)
		res.msgs = append(res.msgs, m)
		res.modseq = max(res.modseq, m.ModSeq)
	}
	return res, nil
}

// searchSpan is the UID range the top-level sequence and UID sets of c
// (resolved by staticCriteria) leave to be read: "UID SEARCH UID 9000:*"
// reads only those index rows.
func searchSpan(v *view, c *imap.SearchCriteria) (lo, hi uint32) {
	lo, hi = v.uids[0], v.maxUID()
	n := uint32(len(v.uids))
	for _, set := range c.UID {
		if len(set) == 0 {
			return 1, 0
		}
		smin, smax := uint32(set[0].Start), uint32(set[0].Stop)
		for _, r := range set {
			smin, smax = min(smin, uint32(r.Start)), max(smax, uint32(r.Stop))
		}
		lo, hi = max(lo, smin), min(hi, smax)
	}
	for _, set := range c.SeqNum {
		if len(set) == 0 {
			return 1, 0
		}
		smin, smax := set[0].Start, set[0].Stop
		for _, r := range set {
			smin, smax = min(smin, r.Start), max(smax, r.Stop)
		}
		if smin > n {
			return 1, 0
		}
		lo, hi = max(lo, v.uids[smin-1]), min(hi, v.uids[min(smax, n)-1])
	}
	return lo, hi
}

// saved is what RETURN (SAVE) keeps as "$", as UIDs: the MIN and/or MAX
// message when only those were asked with it, else every match (RFC 5182
// §2.4).
func (r *searchResult) saved(ret imap.SearchOptions) imap.UIDSet {
	out := imap.UIDSet{}
	if len(r.uids) == 0 {
		return out
	}
	if (ret.ReturnMin || ret.ReturnMax) && !ret.ReturnAll && !ret.ReturnCount {
		if ret.ReturnMin {
			out.AddNum(imap.UID(r.uids[0]))
		}
		if ret.ReturnMax {
			out.AddNum(imap.UID(r.uids[len(r.uids)-1]))
		}
		return out
	}
	return uidSetOf(r.uids)
}

// data is the result as ESEARCH reports it, by UID or sequence number.
func (r *searchResult) data(uid bool) *imap.SearchData {
	nums := r.seqs
	d := &imap.SearchData{Count: uint32(len(nums)), ModSeq: r.modseq}
	if len(nums) == 0 {
		return d
	}
	d.Min, d.Max = nums[0], nums[len(nums)-1]
	if uid {
		d.All = uidSetOf(r.uids)
		d.Min, d.Max = r.uids[0], r.uids[len(r.uids)-1]
	} else {
		d.All = seqSetOf(r.seqs)
	}
	return d
}

// writeSearch writes the IMAP4rev1 "* SEARCH" response, with "(MODSEQ n)"
// when the criteria used MODSEQ and something matched (RFC 7162 §3.1.5).
func (s *session) writeSearch(r *searchResult, uid bool) {
	nums := r.seqs
	if uid {
		nums = r.uids
	}
	w := s.w
	w.Untagged().Atom("SEARCH")
	for _, n := range nums {
		w.SP().Number(n)
	}
	if r.modseq != 0 && len(nums) > 0 {
		w.SP().BeginList().Atom("MODSEQ").SP().Number64(r.modseq).EndList()
	}
	w.CRLF()
}

// uidSetOf compresses ascending UIDs into ranges.
func uidSetOf(nums []uint32) imap.UIDSet {
	var out imap.UIDSet
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		out = append(out, imap.UIDRange{Start: imap.UID(nums[i]), Stop: imap.UID(nums[j])})
		i = j + 1
	}
	return out
}

// seqSetOf compresses ascending sequence numbers into ranges.
func seqSetOf(nums []uint32) imap.SeqSet {
	var out imap.SeqSet
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		out = append(out, imap.SeqRange{Start: nums[i], Stop: nums[j]})
		i = j + 1
	}
	return out
}

// usesModSeq reports whether a MODSEQ key appears anywhere in c.
func usesModSeq(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if usesModSeq(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if usesModSeq(&c.Or[i][0]) || usesModSeq(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// staticCriteria resolves "*" and "$" in a criteria tree against the
// view: "*" is the client's last message (sequence) or the highest UID it
// knows, "$" the saved result (RFC 5182 §2.1).
func staticCriteria(v *view, c *imap.SearchCriteria) *imap.SearchCriteria {
	out := *c
	out.SeqNum, out.UID = nil, nil
	n, last := uint32(len(v.uids)), v.maxUID()
	for _, set := range c.SeqNum {
		out.SeqNum = append(out.SeqNum, staticSeqSet(set, n))
	}
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			saved := v.searchRes
			if saved == nil {
				saved = imap.UIDSet{}
			}
			out.UID = append(out.UID, saved)
			continue
		}
		out.UID = append(out.UID, staticUIDSet(set, last))
	}
	out.Not = make([]imap.SearchCriteria, len(c.Not))
	for i := range c.Not {
		out.Not[i] = *staticCriteria(v, &c.Not[i])
	}
	out.Or = make([][2]imap.SearchCriteria, len(c.Or))
	for i := range c.Or {
		out.Or[i] = [2]imap.SearchCriteria{*staticCriteria(v, &c.Or[i][0]), *staticCriteria(v, &c.Or[i][1])}
	}
	return &out
}

func staticSeqSet(set imap.SeqSet, n uint32) imap.SeqSet {
	out := make(imap.SeqSet, 0, len(set))
	for _, r := range set {
		if r.Start == 0 {
			r.Start = n
		}
		if r.Stop == 0 {
			r.Stop = n
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		if r.Start == 0 {
			continue // "*" of an empty mailbox: nothing
		}
		out = append(out, r)
	}
	return out
}

func staticUIDSet(set imap.UIDSet, last uint32) imap.UIDSet {
	out := make(imap.UIDSet, 0, len(set))
	for _, r := range set {
		if r.Start == 0 {
			r.Start = imap.UID(last)
		}
		if r.Stop == 0 {
			r.Stop = imap.UID(last)
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		if r.Start == 0 {
			continue
		}
		out = append(out, r)
	}
	return out
}
