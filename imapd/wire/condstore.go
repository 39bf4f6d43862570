package wire

import (
	"slices"
	"strconv"

	"github.com/emersion/go-imap/v2"
)

// Response codes of RFC 7162 (CONDSTORE, QRESYNC) for Writer.Status.
const (
	// CodeNoModSeq: the selected mailbox keeps no mod-sequences (§3.1.2.2).
	CodeNoModSeq imap.ResponseCode = "NOMODSEQ"
	// CodeClosed: the previous mailbox was closed by this SELECT, EXAMINE
	// or UNSELECT (§3.2.11; RFC 9051 §7.1). Send it only to clients that
	// enabled QRESYNC or IMAP4rev2.
	CodeClosed imap.ResponseCode = "CLOSED"
)

// CodeHighestModSeq returns the HIGHESTMODSEQ response code (RFC 7162
// §3.1.2.1), e.g. "* OK [HIGHESTMODSEQ 715194045007] Highest".
func CodeHighestModSeq(modseq uint64) imap.ResponseCode {
	return imap.ResponseCode("HIGHESTMODSEQ " + strconv.FormatUint(modseq, 10))
}

// CodeModified returns the MODIFIED response code (RFC 7162 §3.1.3) for
// the messages a conditional STORE did not change, e.g.
// "OK [MODIFIED 7,9] Conditional STORE failed". set must not be empty.
func CodeModified(set imap.NumSet) imap.ResponseCode {
	return imap.ResponseCode("MODIFIED " + set.String())
}

// BeginFetch starts a FETCH response: "* n FETCH (". The caller writes
// the items separated by SP, then EndFetch.
func (w *Writer) BeginFetch(seq uint32) *Writer {
	return w.Untagged().Number(seq).SP().Atom("FETCH").SP().BeginList()
}

// EndFetch ends a FETCH response: ")" CRLF.
func (w *Writer) EndFetch() *Writer { return w.EndList().CRLF() }

// FetchModSeq writes the MODSEQ fetch item: "MODSEQ (n)" (RFC 7162
// §3.1.4.1, §7 fetch-mod-resp).
func (w *Writer) FetchModSeq(modseq uint64) *Writer {
	return w.Atom("MODSEQ").SP().BeginList().Number64(modseq).EndList()
}

// Vanished writes the VANISHED response (RFC 7162 §3.2.10): "* VANISHED
// (EARLIER) uids" when earlier is set (answering a SELECT QRESYNC or a UID
// FETCH VANISHED), else "* VANISHED uids" (instead of EXPUNGE once QRESYNC
// is enabled). uids must not be empty and must not contain "*" (0); see
// CompactUIDs.
func (w *Writer) Vanished(earlier bool, uids imap.UIDSet) *Writer {
	w.Untagged().Atom("VANISHED").SP()
	if earlier {
		w.Atom("(EARLIER)").SP()
	}
	return w.NumSet(uids).CRLF()
}

// CompactUIDs returns uids as the shortest UID set: sorted, duplicates
// dropped, consecutive UIDs joined into ranges (1,2,3,5 gives 1:3,5). 0
// is not a UID and is dropped. uids is sorted in place.
func CompactUIDs(uids []imap.UID) imap.UIDSet {
	slices.Sort(uids)
	var set imap.UIDSet
	for _, u := range uids {
		if u == 0 {
			continue
		}
		if l := len(set); l > 0 {
			last := &set[l-1]
			if u <= last.Stop {
				continue // duplicate
			}
			if u == last.Stop+1 {
				last.Stop = u
				continue
			}
		}
		set = append(set, imap.UIDRange{Start: u, Stop: u})
	}
	return set
}
